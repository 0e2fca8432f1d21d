//! Listing the desktops one user may open: 1,000 roles, 10,000 desktops.
//!
//! `cargo bench -p oriel-rbac --bench listing` prints the median of several
//! runs for building the user's `RoleSet` (expanding traits, compiling
//! globs and regexes, indexing) and for `visible_desktops`, in two shapes:
//!
//! - `typical`: selectors name exact values (with some globs and regexes),
//!   so the (key, value) index narrows each desktop to a few roles, and roles
//!   of the same team share selectors;
//! - `prefix-globs`: every allow selector is a different prefix glob
//!   (`team-17*`), found through the prefix index;
//! - `unindexable`: every allow selector is a different glob that starts
//!   with `*`, so nothing can be indexed or shared and every desktop is
//!   matched against every role (the worst case).

use std::hint::black_box;
use std::time::{Duration, Instant};

use oriel_rbac::{Desktop, DesktopKind, LabelSelector, Role, RoleSet, Template, Traits};

const ROLES: usize = 1_000;
const DESKTOPS: usize = 10_000;
const TEAMS: usize = 200;
const RUNS: usize = 9;

fn envs() -> [&'static str; 4] {
    ["dev", "stage", "prod", "quarantine"]
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Typical,
    PrefixGlobs,
    Unindexable,
}

fn role(i: usize, shape: Shape) -> Role {
    let mut role = Role::new(format!("role-{i}"));
    let team = format!("team-{}", i % TEAMS);
    let env = envs()[i % 2];
    let selector: Vec<(String, Vec<String>)> = match shape {
        Shape::PrefixGlobs => {
            vec![
                ("team".into(), vec![format!("team-{i}*")]),
                ("env".into(), vec![format!("{env}*")]),
            ]
        }
        Shape::Unindexable => {
            vec![
                ("team".into(), vec![format!("*-{i}")]),
                ("env".into(), vec![format!("*{env}")]),
            ]
        }
        Shape::Typical => match i % 20 {
            // One role in twenty uses a glob, one a regex; the rest exact values.
            0 => vec![("team".into(), vec![format!("{team}*")])],
            1 => vec![("host".into(), vec![format!("^web-{}[0-9]*$", i % 10)])],
            _ => vec![
                ("team".into(), vec![team.clone()]),
                ("env".into(), vec![env.into(), "stage".into()]),
            ],
        },
    };
    role.allow.linux_desktop_labels = LabelSelector::new(selector).expect("valid selector");
    role.allow.linux_desktop_logins = vec![
        Template::parse(&format!("u{}", i % 50)).unwrap(),
        Template::parse("{{internal.linux_logins}}").unwrap(),
    ];
    if i % 100 == 0 {
        role.deny.linux_desktop_labels = LabelSelector::new([("env", vec!["quarantine"])]).unwrap();
        role.deny.linux_desktop_logins = vec![Template::parse("root").unwrap()];
    }
    role
}

fn desktops(teams: usize) -> Vec<Desktop> {
    (0..DESKTOPS)
        .map(|j| {
            Desktop::new(DesktopKind::Linux, format!("desktop-{j}"))
                .with_label("env", envs()[j % 4])
                .with_label("team", format!("team-{}", (j * 7) % teams))
                .with_label("host", format!("web-{j}"))
                .with_label("os", "debian")
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn run(name: &str, shape: Shape) {
    let roles: Vec<Role> = (0..ROLES).map(|i| role(i, shape)).collect();
    let desktops = desktops(if shape == Shape::Typical {
        TEAMS
    } else {
        ROLES
    });
    let traits = Traits::new().with("linux_logins", ["alice", "root"]);

    let mut build = Vec::with_capacity(RUNS);
    let mut list = Vec::with_capacity(RUNS);
    let (mut visible, mut logins) = (0, 0);
    for _ in 0..RUNS {
        let t = Instant::now();
        let set = black_box(RoleSet::new(black_box(&roles), &traits));
        build.push(t.elapsed());
        let t = Instant::now();
        let out = black_box(set.visible_desktops(black_box(&desktops)));
        list.push(t.elapsed());
        visible = out.len();
        logins = out.iter().map(|v| v.logins.len()).sum::<usize>();
    }
    println!(
        "{name:<12} {ROLES} roles, {DESKTOPS} desktops: RoleSet::new {:>9.2?}, visible_desktops {:>9.2?} \
         ({visible} visible, {logins} logins; median of {RUNS})",
        median(build),
        median(list),
    );
}

fn main() {
    run("typical", Shape::Typical);
    run("prefix-globs", Shape::PrefixGlobs);
    run("unindexable", Shape::Unindexable);
}
