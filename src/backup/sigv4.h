// AWS Signature Version 4 (SigV4) request signing, for S3-compatible object storage
// (backup/s3_target.h). Implements the signing steps of AWS's "Signature Version 4 signing process":
// canonical request -> string to sign -> HMAC-SHA256 key derivation (date, region, service) ->
// signature, and builds the Authorization header. OpenSSL's HMAC and SHA-256 do the cryptography.
//
// The caller gives the request as it will be sent: the path already URI-encoded (S3 keys are encoded
// once, every byte but unreserved ones and '/'), the query parameters decoded (they are encoded
// here), and the headers to sign (host and x-amz-date at least; x-amz-content-sha256 for S3).
// Credentials never appear in the result but as the access key id of the Credential field.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vj {

struct SigV4Request {
  std::string method;           // "GET", "PUT", ...
  std::string encoded_path;     // "/bucket/key", percent-encoded (UriEncode(key, false))
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // the headers to sign, any case
  std::string payload_sha256;   // lower-case hex of the body's sha256 (or "UNSIGNED-PAYLOAD")
};

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
  std::string service = "s3";
};

// The pieces, exposed for tests against AWS's published examples.
std::string SigV4CanonicalRequest(const SigV4Request& request, std::string* signed_headers);
std::string SigV4StringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical);
// hex(HMAC(kSigning, string_to_sign)), kSigning derived from the secret, date (YYYYMMDD), region, service.
std::string SigV4Signature(const SigV4Credentials& credentials, std::string_view date,
                           std::string_view string_to_sign);

// The Authorization header's value for `request` at `amz_date` ("YYYYMMDDTHHMMSSZ", the value of the
// x-amz-date header the request carries).
std::string SigV4Authorization(const SigV4Request& request, const SigV4Credentials& credentials,
                               std::string_view amz_date);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every
// other byte is %XX (upper-case hex); '/' stays when keep_slash.
std::string UriEncode(std::string_view text, bool keep_slash);
// sha256 of `data`, lower-case hex.
std::string Sha256Hex(std::string_view data);

}  // namespace vj
