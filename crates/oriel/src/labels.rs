//! This host's desktop labels: the static ones from the config and the
//! dynamic ones whose value a command prints (seed 001's
//! `linux_desktop_service.commands`), each command run on its own period.
//! Registration reads the current set, and re-registers as soon as it changes,
//! so a new value reaches roles' `linux_desktop_labels` without waiting a heartbeat.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::LabelCommand;

/// A label command that runs longer than this has failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Values longer than this are cut: a label is a short word, not a log.
const MAX_VALUE: usize = 256;

/// The current labels; cloning shares them.
#[derive(Clone)]
pub struct Labels {
    current: watch::Receiver<BTreeMap<String, String>>,
}

impl Labels {
    /// Static labels, plus one task per command that keeps its label up to
    /// date until the runtime stops.
    pub fn start(static_labels: BTreeMap<String, String>, commands: Vec<LabelCommand>) -> Self {
        let (sender, current) = watch::channel(static_labels);
        for command in commands {
            tokio::spawn(refresh(command, sender.clone()));
        }
        Self { current }
    }

    /// The labels now.
    pub fn current(&self) -> BTreeMap<String, String> {
        self.current.borrow().clone()
    }

    /// Waits until some label changes (never returns once every command task has stopped).
    pub async fn changed(&mut self) {
        if self.current.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn refresh(command: LabelCommand, labels: watch::Sender<BTreeMap<String, String>>) {
    let mut ticker = tokio::time::interval(command.period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match run(&command.command).await {
            Ok(value) => {
                labels.send_if_modified(|map| map.insert(command.name.clone(), value.clone()).as_ref() != Some(&value));
            }
            // The last good value stays: a command that fails once (a busy
            // host) should not make the desktop vanish from a role's view.
            Err(error) => tracing::warn!(label = %command.name, program = %command.command[0], %error, "label command failed; keeping the last value"),
        }
    }
}

/// Runs `argv` without a shell and returns its output, trimmed.
async fn run(argv: &[String]) -> Result<String, String> {
    let mut child = tokio::process::Command::new(&argv[0]);
    child.args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child.output())
        .await
        .map_err(|_| format!("still running after {}s", COMMAND_TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot run it: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{} ({})", output.status, stderr.trim().lines().last().unwrap_or("no message")));
    }
    let mut value = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if value.len() > MAX_VALUE {
        let cut = (0..=MAX_VALUE).rev().find(|&i| value.is_char_boundary(i)).unwrap_or(0);
        value.truncate(cut);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(name: &str, argv: &[&str], period: Duration) -> LabelCommand {
        LabelCommand { name: name.into(), command: argv.iter().map(|s| s.to_string()).collect(), period }
    }

    async fn until(labels: &mut Labels, what: &str, check: impl Fn(&BTreeMap<String, String>) -> bool) -> BTreeMap<String, String> {
        let wait = async {
            loop {
                let now = labels.current();
                if check(&now) {
                    return now;
                }
                labels.changed().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait).await.unwrap_or_else(|_| panic!("never saw {what}: {:?}", labels.current()))
    }

    #[tokio::test]
    async fn static_and_dynamic_labels_together() {
        let fixed = BTreeMap::from([("environment".to_owned(), "dev".to_owned())]);
        let mut labels = Labels::start(fixed, vec![command("arch", &["uname", "-m"], Duration::from_secs(3600))]);
        let machine = std::process::Command::new("uname").arg("-m").output().unwrap();
        let expected = String::from_utf8(machine.stdout).unwrap().trim().to_owned();
        let now = until(&mut labels, "the arch label", |l| l.contains_key("arch")).await;
        assert_eq!(now.get("arch"), Some(&expected));
        assert_eq!(now.get("environment").map(String::as_str), Some("dev"));
    }

    #[tokio::test]
    async fn a_command_runs_again_every_period() {
        let dir = tempfile::tempdir().unwrap();
        let counter = dir.path().join("n");
        // Each run appends a line and prints how many there are.
        let script = format!("echo x >> {0}; wc -l < {0}", counter.display());
        let mut labels = Labels::start(BTreeMap::new(), vec![command("runs", &["sh", "-c", &script], Duration::from_millis(50))]);
        until(&mut labels, "a third run", |l| l.get("runs").is_some_and(|v| v.parse::<u32>().unwrap() >= 3)).await;
    }

    #[tokio::test]
    async fn a_failing_command_leaves_the_label_out_and_a_missing_program_too() {
        let mut labels = Labels::start(
            BTreeMap::from([("fixed".to_owned(), "1".to_owned())]),
            vec![
                command("broken", &["false"], Duration::from_millis(50)),
                command("absent", &["/nonexistent/program"], Duration::from_millis(50)),
                command("ok", &["echo", "  spaced  "], Duration::from_millis(50)),
            ],
        );
        let now = until(&mut labels, "the ok label", |l| l.contains_key("ok")).await;
        assert_eq!(now.get("ok").map(String::as_str), Some("spaced"), "output is trimmed");
        assert!(!now.contains_key("broken") && !now.contains_key("absent"));
    }

    #[tokio::test]
    async fn errors_say_what_failed() {
        let error = run(&["sh".into(), "-c".into(), "echo oops >&2; exit 3".into()]).await.unwrap_err();
        assert!(error.contains("exit status: 3") && error.contains("oops"), "{error}");
        let error = run(&["/nonexistent/program".into()]).await.unwrap_err();
        assert!(error.starts_with("cannot run it"), "{error}");
    }
}
