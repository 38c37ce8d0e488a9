//! Seed fidelity tests (being written).
