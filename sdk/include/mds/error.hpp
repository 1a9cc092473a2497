// Error codes and results for every OpenMDS call.
//
// The numbers below are the single table of errors: the same numbers travel on the wire
// (the server's answers, the device's events) and through every binding (JNI, Objective-C).
// The table is append-only: a number, once published, is never reused or renumbered. A
// code's hundreds digit is its category (see ErrorCategory).
//
// Thread-safety: everything here is a value type; copies are independent.
#ifndef MDS_ERROR_HPP
#define MDS_ERROR_HPP

#include <mds/export.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mds {

enum class ErrorCode : std::uint16_t {
  Ok = 0,

  // 1xx: general
  InvalidArgument = 100, // a caller passed a value the call cannot accept
  Internal = 101,        // a bug: an invariant of OpenMDS itself failed
  NotFound = 102,        // the named thing does not exist
  Unsupported = 103,     // a valid request for something this build does not do
  IoError = 104,         // the operating system refused a read or write
  NotStarted = 105,      // the call needs start() first
  ShutDown = 106,        // the object was shut down
  Locked = 107,          // another process holds the state directory
  Cancelled = 108,       // the operation was cancelled
  Timeout = 109,         // a deadline passed
  DiskFull = 110,        // ENOSPC or a quota
  AlreadyExists = 111,   // the named thing exists already
  Conflict = 112,        // the request conflicts with the current state

  // 2xx: parsing of structured input (JSON, text formats)
  JsonSyntax = 200,          // not well-formed JSON
  JsonTooLarge = 201,        // document above the size limit
  JsonTooDeep = 202,         // nesting above the depth limit
  JsonInvalidUtf8 = 203,     // a string is not valid UTF-8
  JsonDuplicateKey = 204,    // an object names a key twice
  JsonWrongType = 205,       // a field has the wrong JSON type
  JsonMissingField = 206,    // a required field is absent
  JsonUnknownField = 207,    // a field not allowed in this object
  JsonValueOutOfRange = 208, // a number or string outside its allowed range
  InvalidBase64 = 209,       // not canonical standard base64
  InvalidHex = 210,          // not lower-case hexadecimal of the expected length

  // 3xx: signatures and keys
  SignatureInvalid = 300,      // a signature does not verify under the key it names
  SignatureMissing = 301,      // the envelope carries no signature
  SignatureUntrustedKey = 302, // no trusted key verifies any signature
  SignatureNotDer = 303,       // a signature is not strict DER (raw r||s, trailing bytes)
  SignatureThreshold = 304,    // fewer distinct trusted keys signed than required
  PayloadTypeMismatch = 305,   // the envelope's payload type is not the expected one
  KeyInvalid = 306,            // a key could not be parsed or is not ECDSA P-256
  CryptoFailure = 307,         // the crypto library failed (entropy, allocation)
  EnvelopeMalformed = 308,     // the envelope's structure is wrong

  // 4xx: manifests and packages
  ManifestInvalid = 400,         // a manifest field is missing or malformed
  ManifestAppMismatch = 401,     // the manifest is for another app
  ManifestKindMismatch = 402,    // the manifest is for another kind of package
  ManifestPackageMismatch = 403, // the manifest is for another package id
  VersionRollback = 404,         // the version is below the highest one accepted
  AppVersionUnsupported = 405,   // the package requires another app version
  SdkVersionUnsupported = 406,   // the package requires another SDK version
  FileHashMismatch = 407,        // a file's SHA-256 differs from the manifest
  FileSizeMismatch = 408,        // a file's size differs from the manifest
  PathUnsafe = 409,              // a path escapes the package or breaks the path grammar
  PackageTooLarge = 410,         // a package or file above the allowed size
  DecompressionBomb = 411,       // decompressed output beyond its declared size
  DeltaInvalid = 412,            // a delta is malformed or was made against another base
  ManifestVersionMismatch = 413, // the manifest is for another version
  DeltaWindowTooLarge = 414,     // a delta needs a larger decoder window than the device allows
  HotpatchCrashLoop = 415,       // a hotpatch launched too often without a successful launch: reverted
  HotpatchNotActive = 416,       // no hotpatch is active (none was launched, or none loaded)
  RollbackUnsupported = 417,     // a rollback offer needs a signed rollback directive, not supported yet

  // 5xx: versions
  VersionInvalid = 500,      // not a valid version string
  VersionRangeInvalid = 501, // not a valid version range

  // 6xx: network and transport
  NetworkUnreachable = 600, // could not connect
  NetworkTimeout = 601,     // connect, low-speed or overall deadline passed
  ResponseTooLarge = 602,   // a response above its cap
  HttpStatus = 603,         // an unexpected HTTP status
  TlsFailure = 604,         // TLS handshake or certificate verification failed
  TlsPinMismatch = 605,     // the server's public key matches no pin
  RangeMismatch = 606,      // a resumed download did not continue the same content
  NetworkInterrupted = 607, // the connection broke before the answer was complete
  NetworkNotAllowed = 608,  // the network policy forbids downloads now (WifiOnly, not on Wi-Fi)

  // 7xx: on-device or server storage
  StorageCorrupt = 700, // the database failed its integrity check
  StorageFailure = 701, // the database refused an operation

  // 8xx: server and admin API
  Unauthorized = 800,        // missing or wrong admin token
  PayloadTooLarge = 801,     // request body above the server's limit
  RateLimited = 802,         // the server asks the client to come back later
  ReleaseStateInvalid = 803, // the release cannot move to the requested stage
  RangeNotSatisfiable = 804, // a requested byte range lies outside the resource
  BlobMissing = 805,         // a file a manifest lists is not an uploaded blob
};

enum class ErrorCategory : std::uint8_t {
  None = 0,
  General = 1,
  Parse = 2,
  Signature = 3,
  Package = 4,
  Version = 5,
  Network = 6,
  Storage = 7,
  Server = 8,
};

// "invalid_argument", "signature_invalid", ...: stable names for logs and the wire.
// Unknown numbers give "unknown".
MDS_API const char *to_string(ErrorCode code) noexcept;
// The inverse of to_string; nullopt for an unknown name.
MDS_API std::optional<ErrorCode> error_code_from_string(std::string_view name) noexcept;
MDS_API ErrorCategory category_of(ErrorCode code) noexcept;
// True for numbers that are in the table.
MDS_API bool is_known_error_code(std::uint32_t number) noexcept;

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
};

// What failed and why, in one line: "signature_invalid (300): <message>".
MDS_API std::string describe(const Error &error);

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// A value or an error. Construct from a T for success, from an Error for failure.
// Reading value() of a failed result, or error() of a successful one, is a bug that
// the accessors do not check in release builds.
template <typename T> class [[nodiscard]] Result {
public:
  static_assert(!std::is_same_v<std::decay_t<T>, Error>, "Result<Error> is ambiguous");

  Result(T value) : value_(std::move(value)) {}     // NOLINT: implicit by design
  Result(Error error) : error_(std::move(error)) {} // NOLINT: implicit by design

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }

  T &value() & { return *value_; }
  const T &value() const & { return *value_; }
  T &&value() && { return std::move(*value_); }
  T *operator->() { return &*value_; }
  const T *operator->() const { return &*value_; }
  T &operator*() & { return *value_; }
  const T &operator*() const & { return *value_; }

  const Error &error() const & { return error_; }
  Error &&error() && { return std::move(error_); }
  ErrorCode code() const noexcept { return ok() ? ErrorCode::Ok : error_.code; }

private:
  std::optional<T> value_;
  Error error_;
};

// Success carries nothing; failure carries an Error.
template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : failed_(true), error_(std::move(error)) {} // NOLINT: implicit by design

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const Error &error() const & { return error_; }
  Error &&error() && { return std::move(error_); }
  ErrorCode code() const noexcept { return ok() ? ErrorCode::Ok : error_.code; }

private:
  bool failed_ = false;
  Error error_;
};

using Status = Result<void>;

} // namespace mds

#endif
