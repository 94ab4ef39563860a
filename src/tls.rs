//! One TLS implementation for the whole process.
//!
//! reqwest (Ollama, OTLP/HTTP) and tonic (OTLP/gRPC) both use rustls, and rustls needs
//! its cryptography provider chosen once per process before the first client is built.
//! Every constructor of a client calls [`ensure_provider`], so library users (tests,
//! benchmarks) cannot forget it.

/// Installs the `ring` provider unless one is already installed. Idempotent.
pub fn ensure_provider() {
    // Err means a provider is already installed: exactly what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
