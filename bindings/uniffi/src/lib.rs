//! Python, Kotlin and Swift bindings for Rapport.
uniffi::setup_scaffolding!();
