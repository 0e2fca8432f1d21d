//! The reader's rules, on documents of kinds other than roles: the role
//! tests (`tests/yaml.rs`) cover it through `parse_roles`.

use crate::document::{At, load_documents};

/// Reads the one document of `text` with `read`, and the error it gives
/// as an admin would see it.
fn error(text: &str, read: impl Fn(&At<'_>) -> Result<(), crate::document::Issue>) -> String {
    let docs = load_documents("t.yaml", text).unwrap();
    read(&At::root(&docs[0]))
        .expect_err(text)
        .into_error("t.yaml")
        .to_string()
}

#[test]
fn dotted_keys_stand_plainly_in_paths_and_others_are_quoted() {
    let text = "kind: windows_desktop\nmetadata:\n  labels:\n    teleport.dev/origin: [config]\n    'my key': x\n";
    let docs = load_documents("t.yaml", text).unwrap();
    let labels = At::root(&docs[0])
        .required("metadata")
        .and_then(|m| m.required("labels"))
        .unwrap();
    let paths: Vec<String> = labels
        .entries()
        .unwrap()
        .iter()
        .map(|(_, at)| at.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "metadata.labels.teleport.dev/origin",
            r#"metadata.labels["my key"]"#
        ]
    );
    let err = error(text, |root| {
        for (_, at) in root.required("metadata")?.required("labels")?.entries()? {
            at.string()?;
        }
        Ok(())
    });
    assert_eq!(
        err,
        "t.yaml:4:26: metadata.labels.teleport.dev/origin: expected a string, found a list"
    );
}

#[test]
fn flags_accept_teleports_words_in_any_kind() {
    let one_time = |value: &str| {
        let text = format!("kind: token\nspec:\n  one_time: {value}\n");
        let docs = load_documents("t.yaml", &text).unwrap();
        At::root(&docs[0])
            .required("spec")
            .and_then(|spec| spec.required("one_time"))
            .and_then(|at| at.flag())
            .map_err(|issue| issue.into_error("t.yaml").to_string())
    };
    for word in ["true", "yes", "Yes", "ON", "y", "'1'", "yeah"] {
        assert_eq!(one_time(word), Ok(true), "{word}");
    }
    for word in ["false", "no", "NO", "off", "n", "'0'", "nope"] {
        assert_eq!(one_time(word), Ok(false), "{word}");
    }
    assert_eq!(
        one_time("maybe"),
        Err(r#"t.yaml:3:13: spec.one_time: expected true or false, found "maybe""#.into())
    );
    assert_eq!(
        one_time("1"),
        Err("t.yaml:3:13: spec.one_time: expected true or false, found an integer".into())
    );
}

#[test]
fn errors_point_at_the_line_and_column_of_a_lock() {
    let lock = "kind: lock\nmetadata: {name: l}\nspec:\n  target: {user: [a]}\n  message: hi\n";
    let target_user = |root: &At<'_>| -> Result<(), crate::document::Issue> {
        root.required("spec")?
            .required("target")?
            .required("user")?
            .string()?;
        Ok(())
    };
    assert_eq!(
        error(lock, target_user),
        "t.yaml:4:18: spec.target.user: expected a string, found a list"
    );
    // A missing field is named, and the mapping that lacks it is pointed at.
    assert_eq!(
        error("kind: lock\nspec:\n  message: hi\n", target_user),
        "t.yaml:3:3: spec.target: is required"
    );
    // An unwanted field is pointed at by its key.
    let unknown = |root: &At<'_>| {
        for (key, at) in root.required("spec")?.entries()? {
            if key != "target" {
                return Err(at.key_issue("unknown field"));
            }
        }
        Ok(())
    };
    assert_eq!(
        error(lock, unknown),
        "t.yaml:5:3: spec.message: unknown field"
    );
}

#[test]
fn issues_keep_their_parts_for_callers_that_report_more() {
    let docs = load_documents("t.yaml", "kind: user\nspec: {roles: access}\n").unwrap();
    let issue = At::root(&docs[0])
        .required("spec")
        .and_then(|spec| spec.required("roles"))
        .and_then(|roles| roles.strings())
        .unwrap_err();
    assert_eq!(issue.path(), "spec.roles");
    assert_eq!(
        issue.message(),
        "expected a list of strings, found a string"
    );
    let position = issue.position().unwrap();
    assert_eq!((position.line, position.column), (2, 15));
}
