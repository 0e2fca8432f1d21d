//! A computer found in the directory as the `windows_desktop` Teleport
//! would register for it, sans-IO: the same skip rules, name and label
//! keys (`teleport.dev/…`, `ldap/<attribute>`), so roles written for
//! Teleport match Oriel's discovered desktops.

use std::collections::{BTreeMap, HashMap};

/// The attributes asked of every computer, besides `label_attributes`.
pub const ATTRIBUTES: [&str; 9] =
    ["name", "description", "cn", "distinguishedName", "dNSHostName", "objectGUID", "operatingSystem", "operatingSystemVersion", "primaryGroupID"];

/// Active Directory's primary groups of domain controllers: "Domain
/// Controllers" and "Read-only Domain Controllers".
const DOMAIN_CONTROLLER_GROUPS: [&str; 2] = ["516", "521"];

/// One directory entry, as the search returned it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// Its distinguished name.
    pub dn: String,
    /// Text attributes; names as the server spelled them.
    pub attrs: HashMap<String, Vec<String>>,
    /// Binary attributes (`objectGUID`).
    pub bin_attrs: HashMap<String, Vec<Vec<u8>>>,
}

impl DirectoryEntry {
    /// The first value of `name`, whatever case the server spelled it in.
    fn first(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).and_then(|(_, values)| values.first()).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn first_binary(&self, name: &str) -> Option<&[u8]> {
        let text = self.attrs.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).and_then(|(_, values)| values.first()).map(String::as_bytes);
        let binary = self.bin_attrs.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).and_then(|(_, values)| values.first()).map(Vec::as_slice);
        binary.or(text).filter(|v| !v.is_empty())
    }
}

/// A computer to register as a Windows desktop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredDesktop {
    /// The desktop's name: its DNS name with `-` for `.`, then `-` and the
    /// first four bytes of its objectGUID in hex.
    pub name: String,
    /// Its DNS name.
    pub hostname: String,
    /// `hostname:port`.
    pub addr: String,
    /// Teleport's labels for it.
    pub labels: BTreeMap<String, String>,
}

/// Why an entry is not a desktop (for the log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skipped {
    /// It has no DNS name to reach it by.
    #[error("{0} has no dNSHostName")]
    NoHostName(String),
    /// Its operating system is Linux (a Samba or realmd member).
    #[error("{0} runs Linux")]
    Linux(String),
}

/// What discovery applies to every computer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesktopRules {
    /// The RDP port of discovered hosts.
    pub rdp_port: u16,
    /// The directory's domain, for `teleport.dev/windows_domain`.
    pub domain: String,
    /// Attributes copied into `ldap/<attribute>` labels.
    pub label_attributes: Vec<String>,
    /// Labels every discovered host gets first (`host_labels` that match);
    /// discovery's own labels overwrite them.
    pub base_labels: BTreeMap<String, String>,
}

/// `entry` as a desktop under `rules`, or why not.
pub fn desktop(entry: &DirectoryEntry, rules: &DesktopRules) -> Result<DiscoveredDesktop, Skipped> {
    let hostname = entry.first("dNSHostName").ok_or_else(|| Skipped::NoHostName(entry.dn.clone()))?.to_owned();
    let os = entry.first("operatingSystem").unwrap_or_default();
    if os.to_ascii_lowercase().contains("linux") {
        return Err(Skipped::Linux(entry.dn.clone()));
    }
    let mut labels = rules.base_labels.clone();
    labels.insert("teleport.dev/origin".into(), "dynamic".into());
    labels.insert("teleport.dev/dns_host_name".into(), hostname.clone());
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            labels.insert(key.into(), value.to_owned());
        }
    };
    put("teleport.dev/computer_name", entry.first("name"));
    put("teleport.dev/os", Some(os).filter(|os| !os.is_empty()));
    put("teleport.dev/os_version", entry.first("operatingSystemVersion"));
    put("teleport.dev/windows_domain", Some(rules.domain.as_str()).filter(|d| !d.is_empty()));
    put("teleport.dev/ou", organizational_unit(&entry.dn, entry.first("cn")).as_deref());
    if entry.first("primaryGroupID").is_some_and(|group| DOMAIN_CONTROLLER_GROUPS.contains(&group)) {
        labels.insert("teleport.dev/is_domain_controller".into(), "true".into());
    }
    for attribute in &rules.label_attributes {
        if let Some(value) = entry.first(attribute) {
            labels.insert(format!("ldap/{attribute}"), value.to_owned());
        }
    }
    let suffix = entry.first_binary("objectGUID").filter(|guid| guid.len() >= 4).map(|guid| guid[..4].iter().map(|b| format!("{b:02x}")).collect::<String>());
    let base = hostname.replace('.', "-");
    let name = match suffix {
        Some(suffix) => format!("{base}-{suffix}"),
        None => base,
    };
    Ok(DiscoveredDesktop { name, addr: format!("{hostname}:{}", rules.rdp_port), hostname, labels })
}

/// The entry's container: its DN without its own `CN=<cn>,` (matched
/// without regard to case, as directories spell DNs as stored).
fn organizational_unit(dn: &str, cn: Option<&str>) -> Option<String> {
    let cn = cn?;
    let own = format!("cn={cn},");
    // By bytes, and only where both cuts fall on characters: a DN that
    // escapes characters of the name, or another cn value, is no match.
    let (head, rest) = (dn.get(..own.len())?, dn.get(own.len()..)?);
    (head.eq_ignore_ascii_case(&own) && !rest.is_empty()).then(|| rest.to_owned())
}

/// The search filter: computers, not group managed service accounts, and
/// every one of the configured `filters` (each an LDAP filter).
pub fn search_filter(filters: &[String]) -> String {
    let extra: String = filters.iter().map(|f| if f.starts_with('(') { f.clone() } else { format!("({f})") }).collect();
    format!("(&(objectClass=computer)(!(objectClass=msDS-GroupManagedServiceAccount)){extra})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pairs: &[(&str, &str)]) -> DirectoryEntry {
        DirectoryEntry {
            dn: "CN=WS1,OU=Desktops,DC=example,DC=com".into(),
            attrs: pairs.iter().map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()])).collect(),
            bin_attrs: [("objectGUID".to_owned(), vec![vec![0xde, 0xad, 0xbe, 0xef, 1, 2]])].into(),
        }
    }

    fn rules() -> DesktopRules {
        DesktopRules {
            rdp_port: 3389,
            domain: "example.com".into(),
            label_attributes: vec!["location".into()],
            base_labels: [("team".into(), "a".into())].into(),
        }
    }

    #[test]
    fn a_computer_gets_teleports_name_and_labels() {
        let found = entry(&[
            ("dNSHostName", "ws1.example.com"),
            ("name", "WS1"),
            ("cn", "WS1"),
            ("operatingSystem", "Windows Server 2022"),
            ("operatingSystemVersion", "10.0 (20348)"),
            ("primaryGroupID", "516"),
            ("location", "Berlin"),
        ]);
        let desktop = desktop(&found, &rules()).unwrap();
        assert_eq!(desktop.name, "ws1-example-com-deadbeef");
        assert_eq!(desktop.addr, "ws1.example.com:3389");
        let want: BTreeMap<String, String> = [
            ("team", "a"),
            ("teleport.dev/origin", "dynamic"),
            ("teleport.dev/dns_host_name", "ws1.example.com"),
            ("teleport.dev/computer_name", "WS1"),
            ("teleport.dev/os", "Windows Server 2022"),
            ("teleport.dev/os_version", "10.0 (20348)"),
            ("teleport.dev/windows_domain", "example.com"),
            ("teleport.dev/ou", "OU=Desktops,DC=example,DC=com"),
            ("teleport.dev/is_domain_controller", "true"),
            ("ldap/location", "Berlin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(desktop.labels, want);
    }

    #[test]
    fn entries_without_a_host_name_or_running_linux_are_skipped() {
        assert_eq!(desktop(&entry(&[("name", "x")]), &rules()), Err(Skipped::NoHostName("CN=WS1,OU=Desktops,DC=example,DC=com".into())));
        let linux = entry(&[("dNSHostName", "l.example.com"), ("operatingSystem", "Ubuntu Linux")]);
        assert!(matches!(desktop(&linux, &rules()), Err(Skipped::Linux(_))));
    }

    #[test]
    fn the_ou_is_found_whatever_the_case_and_the_filter_adds_the_configured_ones() {
        assert_eq!(organizational_unit("cn=ws2,ou=Lab,dc=example,dc=com", Some("WS2")).as_deref(), Some("ou=Lab,dc=example,dc=com"));
        assert_eq!(organizational_unit("CN=other,DC=x", Some("WS2")), None);
        // A cut inside a character is no match, not a panic.
        assert_eq!(organizational_unit("CN=Bü,DC=x", Some("Bx")), None);
        assert_eq!(organizational_unit("CN=B\\,ro,DC=x", Some("B,ro")), None);
        assert_eq!(
            search_filter(&["operatingSystem=Windows*".into(), "(location=Berlin)".into()]),
            "(&(objectClass=computer)(!(objectClass=msDS-GroupManagedServiceAccount))(operatingSystem=Windows*)(location=Berlin))"
        );
    }
}
