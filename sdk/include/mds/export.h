// MDS_API marks the symbols a shared build of the SDK exports; everything else is
// hidden (-fvisibility=hidden). Static builds need nothing.
#ifndef MDS_EXPORT_H
#define MDS_EXPORT_H

#if defined(MDS_STATIC)
#define MDS_API
#elif defined(_WIN32)
#if defined(MDS_BUILDING)
#define MDS_API __declspec(dllexport)
#else
#define MDS_API __declspec(dllimport)
#endif
#else
#define MDS_API __attribute__((visibility("default")))
#endif

#endif
