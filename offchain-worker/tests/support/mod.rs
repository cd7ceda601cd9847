//! Test support shared by the worker's integration tests: a GRANDPA authority set that signs
//! justifications, headers with GRANDPA digests ([`grandpa`]), and a scripted node ([`node`]).
//! The tests play the chain's authorities only to build the honest chain; every attack signs
//! with keys of its own.

#![allow(dead_code, unused_imports)]

pub mod grandpa;
pub mod node;

pub use grandpa::*;
