//! A runtime for one side of a cluster benchmark (the proxy, the auth
//! service, the simulated desktop services), so that side's tasks and
//! blocking calls run on threads of their own name, whose CPU time
//! `/proc/self/task` tells apart.

use std::ops::Deref;

use tokio::runtime::Runtime;

/// A multi-threaded runtime whose threads are all named `name`. It may be
/// dropped inside the bench's own runtime: it shuts down in the background.
pub struct Side {
    runtime: Option<Runtime>,
}

impl Side {
    /// `workers` worker threads; blocking calls get more threads of the same name.
    pub fn new(name: &str, workers: usize) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).thread_name(name).enable_all().build()?;
        Ok(Self { runtime: Some(runtime) })
    }
}

impl Deref for Side {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        self.runtime.as_ref().expect("present until dropped")
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
