#include <mds/error.hpp>

#include <iterator>

namespace mds {
namespace {

struct ErrorName {
  ErrorCode code;
  const char *name;
};

// Keep in step with the enum in mds/error.hpp; tests/unit/error_test.cpp checks both ways.
constexpr ErrorName kNames[] = {
    {ErrorCode::Ok, "ok"},
    {ErrorCode::InvalidArgument, "invalid_argument"},
    {ErrorCode::Internal, "internal"},
    {ErrorCode::NotFound, "not_found"},
    {ErrorCode::Unsupported, "unsupported"},
    {ErrorCode::IoError, "io_error"},
    {ErrorCode::NotStarted, "not_started"},
    {ErrorCode::ShutDown, "shut_down"},
    {ErrorCode::Locked, "locked"},
    {ErrorCode::Cancelled, "cancelled"},
    {ErrorCode::Timeout, "timeout"},
    {ErrorCode::DiskFull, "disk_full"},
    {ErrorCode::AlreadyExists, "already_exists"},
    {ErrorCode::Conflict, "conflict"},
    {ErrorCode::JsonSyntax, "json_syntax"},
    {ErrorCode::JsonTooLarge, "json_too_large"},
    {ErrorCode::JsonTooDeep, "json_too_deep"},
    {ErrorCode::JsonInvalidUtf8, "json_invalid_utf8"},
    {ErrorCode::JsonDuplicateKey, "json_duplicate_key"},
    {ErrorCode::JsonWrongType, "json_wrong_type"},
    {ErrorCode::JsonMissingField, "json_missing_field"},
    {ErrorCode::JsonUnknownField, "json_unknown_field"},
    {ErrorCode::JsonValueOutOfRange, "json_value_out_of_range"},
    {ErrorCode::InvalidBase64, "invalid_base64"},
    {ErrorCode::InvalidHex, "invalid_hex"},
    {ErrorCode::SignatureInvalid, "signature_invalid"},
    {ErrorCode::SignatureMissing, "signature_missing"},
    {ErrorCode::SignatureUntrustedKey, "signature_untrusted_key"},
    {ErrorCode::SignatureNotDer, "signature_not_der"},
    {ErrorCode::SignatureThreshold, "signature_threshold"},
    {ErrorCode::PayloadTypeMismatch, "payload_type_mismatch"},
    {ErrorCode::KeyInvalid, "key_invalid"},
    {ErrorCode::CryptoFailure, "crypto_failure"},
    {ErrorCode::EnvelopeMalformed, "envelope_malformed"},
    {ErrorCode::ManifestInvalid, "manifest_invalid"},
    {ErrorCode::ManifestAppMismatch, "manifest_app_mismatch"},
    {ErrorCode::ManifestKindMismatch, "manifest_kind_mismatch"},
    {ErrorCode::ManifestPackageMismatch, "manifest_package_mismatch"},
    {ErrorCode::VersionRollback, "version_rollback"},
    {ErrorCode::AppVersionUnsupported, "app_version_unsupported"},
    {ErrorCode::SdkVersionUnsupported, "sdk_version_unsupported"},
    {ErrorCode::FileHashMismatch, "file_hash_mismatch"},
    {ErrorCode::FileSizeMismatch, "file_size_mismatch"},
    {ErrorCode::PathUnsafe, "path_unsafe"},
    {ErrorCode::PackageTooLarge, "package_too_large"},
    {ErrorCode::DecompressionBomb, "decompression_bomb"},
    {ErrorCode::DeltaInvalid, "delta_invalid"},
    {ErrorCode::ManifestVersionMismatch, "manifest_version_mismatch"},
    {ErrorCode::DeltaWindowTooLarge, "delta_window_too_large"},
    {ErrorCode::HotpatchCrashLoop, "hotpatch_crash_loop"},
    {ErrorCode::HotpatchNotActive, "hotpatch_not_active"},
    {ErrorCode::RollbackUnsupported, "rollback_unsupported"},
    {ErrorCode::VersionInvalid, "version_invalid"},
    {ErrorCode::VersionRangeInvalid, "version_range_invalid"},
    {ErrorCode::NetworkUnreachable, "network_unreachable"},
    {ErrorCode::NetworkTimeout, "network_timeout"},
    {ErrorCode::ResponseTooLarge, "response_too_large"},
    {ErrorCode::HttpStatus, "http_status"},
    {ErrorCode::TlsFailure, "tls_failure"},
    {ErrorCode::TlsPinMismatch, "tls_pin_mismatch"},
    {ErrorCode::RangeMismatch, "range_mismatch"},
    {ErrorCode::NetworkInterrupted, "network_interrupted"},
    {ErrorCode::NetworkNotAllowed, "network_not_allowed"},
    {ErrorCode::StorageCorrupt, "storage_corrupt"},
    {ErrorCode::StorageFailure, "storage_failure"},
    {ErrorCode::Unauthorized, "unauthorized"},
    {ErrorCode::PayloadTooLarge, "payload_too_large"},
    {ErrorCode::RateLimited, "rate_limited"},
    {ErrorCode::ReleaseStateInvalid, "release_state_invalid"},
    {ErrorCode::RangeNotSatisfiable, "range_not_satisfiable"},
    {ErrorCode::BlobMissing, "blob_missing"},
};

} // namespace

const char *to_string(ErrorCode code) noexcept {
  for (const auto &entry : kNames) {
    if (entry.code == code) {
      return entry.name;
    }
  }
  return "unknown";
}

std::optional<ErrorCode> error_code_from_string(std::string_view name) noexcept {
  for (const auto &entry : kNames) {
    if (name == entry.name) {
      return entry.code;
    }
  }
  return std::nullopt;
}

bool is_known_error_code(std::uint32_t number) noexcept {
  for (const auto &entry : kNames) {
    if (static_cast<std::uint32_t>(entry.code) == number) {
      return true;
    }
  }
  return false;
}

ErrorCategory category_of(ErrorCode code) noexcept {
  const auto hundreds = static_cast<unsigned>(code) / 100;
  if (code == ErrorCode::Ok || hundreds > static_cast<unsigned>(ErrorCategory::Server)) {
    return ErrorCategory::None;
  }
  return static_cast<ErrorCategory>(hundreds);
}

std::string describe(const Error &error) {
  std::string out = to_string(error.code);
  out += " (";
  out += std::to_string(static_cast<unsigned>(error.code));
  out += ")";
  if (!error.message.empty()) {
    out += ": ";
    out += error.message;
  }
  return out;
}

} // namespace mds
