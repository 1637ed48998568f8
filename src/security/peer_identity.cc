#include "security/peer_identity.h"

#include <fnmatch.h>

#include <cstdio>
#include <memory>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace vj {
namespace {

// The UTF-8 text of an ASN.1 string; "" when it cannot be converted or holds a NUL (a name with an
// embedded NUL could pass for another in a C-string comparison).
std::string Utf8(const ASN1_STRING* data) {
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return "";
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text.find('\0') == std::string::npos ? text : "";
}

bool Matches(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

}  // namespace

std::vector<std::string> CertificateNames(X509* cert) {
  std::vector<std::string> names;
  if (cert == nullptr) return names;
  X509_NAME* subject = X509_get_subject_name(cert);
  if (const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); index >= 0) {
    if (std::string cn = Utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index))); !cn.empty()) {
      names.push_back(std::move(cn));
    }
  }
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* san = sk_GENERAL_NAME_value(sans, i);
    std::string name;
    if (san->type == GEN_DNS) name = Utf8(san->d.dNSName);
    if (san->type == GEN_URI) name = Utf8(san->d.uniformResourceIdentifier);
    if (!name.empty()) names.push_back(std::move(name));
  }
  GENERAL_NAMES_free(sans);
  return names;
}

StatusOr<std::vector<std::string>> CertificateFileNames(const std::string& pem_file) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(pem_file.c_str(), "rb"), &std::fclose);
  if (file == nullptr) return absl::InvalidArgumentError("cannot read the certificate file " + pem_file);
  std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free);
  if (cert == nullptr) return absl::InvalidArgumentError("no PEM certificate in " + pem_file);
  return CertificateNames(cert.get());
}

std::string DescribeNames(const std::vector<std::string>& names) {
  std::string text = "[";
  for (const std::string& name : names) {
    if (text.size() > 200) {
      text += ", ...";
      break;
    }
    if (text.size() > 1) text += ", ";
    // Names come from a certificate the CA signed, but still from the other side: printable ASCII only.
    for (char c : name.substr(0, 100)) text += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return text + "]";
}

PeerIdentityPolicy::PeerIdentityPolicy(std::vector<std::string> patterns, std::vector<std::string> own_names)
    : state_(std::make_shared<const State>(State{std::move(patterns), std::move(own_names)})) {}

void PeerIdentityPolicy::SetMembers(MemberIds members) {
  auto shared = std::make_shared<const MemberIds>(std::move(members));
  std::lock_guard lock(mu_);
  members_ = std::move(shared);
}

void PeerIdentityPolicy::SetPatterns(std::vector<std::string> patterns) {
  std::lock_guard lock(mu_);
  state_ = std::make_shared<const State>(State{std::move(patterns), state_->own_names});
}

void PeerIdentityPolicy::SetOwnNames(std::vector<std::string> own_names) {
  std::lock_guard lock(mu_);
  state_ = std::make_shared<const State>(State{state_->patterns, std::move(own_names)});
}

Status PeerIdentityPolicy::Check(const std::vector<std::string>& names) const {
  std::shared_ptr<const State> state;
  std::shared_ptr<const MemberIds> members;
  {
    std::lock_guard lock(mu_);
    state = state_;
    members = members_;
  }
  if (!state->patterns.empty()) {
    for (const std::string& name : names) {
      for (const std::string& pattern : state->patterns) {
        if (Matches(pattern, name)) return absl::OkStatus();
      }
    }
    return absl::PermissionDeniedError("the certificate's names " + DescribeNames(names) +
                                       " match no cluster.peer_names pattern");
  }
  for (const std::string& name : names) {
    for (const std::string& own : state->own_names) {
      if (name == own) return absl::OkStatus();
    }
  }
  if (members != nullptr && *members) {
    const std::vector<std::string> ids = (*members)();
    for (const std::string& name : names) {
      for (const std::string& id : ids) {
        if (!id.empty() && name == id) return absl::OkStatus();
      }
    }
  }
  return absl::PermissionDeniedError("the certificate's names " + DescribeNames(names) +
                                     " are neither this node's certificate names nor a cluster member's id "
                                     "(set cluster.peer_names to say which names are nodes)");
}

}  // namespace vj
