// Package auth verifies the bearer tokens (JWTs) of the presence protocol:
// HS256 with a shared secret, and RS256/384/512, PS256, ES256/384 and EdDSA
// with the keys an identity provider publishes as a JWK Set. One Verifier
// answers for hello, refresh and the HTTP API, so every door checks the same
// claims the same way.
//
// Concurrency: a Verifier is safe for concurrent use. Run, when a JWK Set is
// configured, owns the periodic refresh; Verify may fetch the set too (an
// unknown key id, at most once per MinRefetch), and only one fetch runs at a
// time.
package auth
