# Warnings and sanitizers, applied through one interface target so every project
# target gets the same flags and nothing leaks into a parent project.
add_library(mds_compile_options INTERFACE)
add_library(mds::compile_options ALIAS mds_compile_options)

target_compile_options(mds_compile_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                                     -Wnon-virtual-dtor -Wconversion -Wno-sign-conversion)
# GCC 12 and 13 report out-of-bounds copies inside libstdc++'s own vector and string code
# once it is inlined at -O2/-O3 (GCC bugs 105329, 105746, 107138): false positives that no
# source change avoids in general. Off for those compilers in optimised builds only; the
# debug and sanitizer builds keep them.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 14)
  target_compile_options(mds_compile_options INTERFACE
    $<$<NOT:$<CONFIG:Debug>>:-Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread>)
endif()

if(MDS_WARNINGS_AS_ERRORS)
  target_compile_options(mds_compile_options INTERFACE -Werror)
endif()

if(MDS_SANITIZE)
  set(_mds_san -fsanitize=${MDS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # Known faults in third-party headers, each explained in the list.
    list(APPEND _mds_san -fsanitize-ignorelist=${CMAKE_CURRENT_LIST_DIR}/sanitizer-ignorelist.txt)
  endif()
  # Sanitizers must see every object, including third-party code inlined from headers.
  add_compile_options(${_mds_san})
  add_link_options(${_mds_san})
endif()

if(MDS_BUILD_FUZZERS)
  # Coverage feedback from the library code the fuzzers reach, not only from the harness.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
