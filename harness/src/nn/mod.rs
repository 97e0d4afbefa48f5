//! The network and its training rules: [`model`] (the kernels' recurrent
//! layer with a linear readout, its initialisation, gradient and
//! evaluation), [`loss`] (losses and error counts) and [`optim`] (update
//! rules). Imports `spec` and `tasks` (a [`crate::tasks::Batch`] is what a
//! model is trained and evaluated on).

pub mod loss;
pub mod model;
pub mod optim;
