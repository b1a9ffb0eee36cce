// Package devissuer is a minimal OpenID Connect issuer for the embedded/demo
// mode. It lets the API validate tokens through exactly the production path
// (discovery, JWKS, signature, claims) without an external identity provider.
//
// # Keys
//
// [LoadOrCreate] reads a PEM private key from keyPath or, when the file does
// not exist, generates an RSA-2048 key and stores it there as PKCS#8 PEM with
// mode 0600 (the parent directory is created with mode 0700 if missing). The
// file is written to a temporary name and hard-linked into place, so concurrent
// first runs agree on one key and a reader never sees a partial file (where
// the file system has no hard links, an exclusive create is used instead,
// which still yields a single key). An existing key file that is readable or
// writable by group or others is refused on systems with POSIX permissions:
// whoever reads it can mint tokens, operator ones included. Existing RSA (2048
// bits or more, signing RS256), P-256 ECDSA (ES256) and Ed25519 (EdDSA) keys
// in PKCS#8, PKCS#1 or SEC 1 form are accepted. The key ID is the RFC 7638
// SHA-256 thumbprint of the public key, base64url encoded, so it is stable
// across restarts and changes when the key does.
//
// # Endpoints
//
// [Issuer.Handler] serves, relative to where it is mounted:
//
//	GET /.well-known/openid-configuration   discovery document
//	GET /jwks                               JSON Web Key Set (also /jwks/)
//
// The discovery document's "issuer" is the issuer URL exactly as given to
// LoadOrCreate and its "jwks_uri" is that URL, without a trailing slash, plus
// "/jwks". The issuer URL's path is where the handler must be mounted; strip
// it, minus any trailing slash, with http.StripPrefix:
//
//	iss, err := devissuer.LoadOrCreate(filepath.Join(dataDir, "dev-issuer.pem"),
//		"http://127.0.0.1:8080/dev/oidc/")
//	// ...
//	mux.Handle("/dev/oidc/", http.StripPrefix("/dev/oidc", iss.Handler()))
//
// An issuer URL with an empty path ("http://127.0.0.1:8080" or
// "http://127.0.0.1:8080/") is served by mounting Handler at "/" directly.
//
// There is no authorization or token endpoint: tokens are minted in-process with
// [Issuer.Mint] (the "dezky token" command), signed with the issuer's key and
// carrying iss, sub, aud, iat, nbf, exp and jti, plus email and name when set.
//
// The issuer is meant for loopback use in development and demos; anyone who can
// reach the key file can impersonate any user of an API that trusts it.
package devissuer
