//! Node.js bindings for Rapport.
