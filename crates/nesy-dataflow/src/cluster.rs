//! Reading a cluster's hosts file: one `host:port` per line, line I for
//! process I; blank lines and `#` comments are skipped.

use crate::error::Error;
use crate::run::Cluster;
use std::path::Path;

/// Hosts files larger than this are refused (a cluster has a handful of
/// lines; a wrong path to a data file should fail fast).
const MAX_HOSTS_FILE: u64 = 1 << 20;

impl Cluster {
    /// Process `process` of `processes`, with the addresses of `path`.
    /// The file must list exactly `processes` addresses.
    pub fn from_hosts_file(path: &Path, process: usize, processes: usize) -> Result<Self, Error> {
        let shown = path.display().to_string();
        let hosts_error = |message: String| Error::Hosts {
            path: shown.clone(),
            message,
        };
        let size = std::fs::metadata(path)
            .map_err(|e| hosts_error(e.to_string()))?
            .len();
        if size > MAX_HOSTS_FILE {
            return Err(hosts_error(format!(
                "{size} bytes; a hosts file has one line per process"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| hosts_error(e.to_string()))?;
        let hosts = parse_hosts(&text).map_err(hosts_error)?;
        if hosts.len() != processes {
            return Err(hosts_error(format!(
                "{} addresses for {processes} processes (`--processes`)",
                hosts.len()
            )));
        }
        if process >= processes {
            return Err(Error::Cluster(format!(
                "process {process} of a cluster of {processes} (processes count from 0)"
            )));
        }
        Ok(Cluster { process, hosts })
    }
}

/// The addresses, each checked to be `host:port` with a port number.
fn parse_hosts(text: &str) -> Result<Vec<String>, String> {
    let mut hosts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let port = line
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        match port {
            Some((host, Ok(_))) if !host.is_empty() => hosts.push(line.to_string()),
            _ => {
                return Err(format!("line {}: `{line}` is not `host:port`", i + 1));
            }
        }
    }
    if hosts.is_empty() {
        return Err("no addresses".to_string());
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::parse_hosts;
    use crate::{Cluster, Error};

    #[test]
    fn addresses_are_read_and_bad_lines_named() {
        let hosts = parse_hosts("# cluster\n127.0.0.1:2101\n\nlocalhost:2102 # second\n").unwrap();
        assert_eq!(hosts, ["127.0.0.1:2101", "localhost:2102"]);
        assert_eq!(
            parse_hosts("127.0.0.1:2101\nnot-an-address\n").unwrap_err(),
            "line 2: `not-an-address` is not `host:port`"
        );
        assert!(parse_hosts("a:99999").is_err());
        assert_eq!(parse_hosts("\n# none\n").unwrap_err(), "no addresses");
    }

    #[test]
    fn a_huge_file_or_a_folder_is_refused_before_it_is_read() {
        let dir = std::env::temp_dir().join(format!("nesy-hosts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let huge = dir.join("hosts");
        std::fs::write(&huge, "127.0.0.1:1\n".repeat(200_000)).unwrap();
        let error = Cluster::from_hosts_file(&huge, 0, 2).unwrap_err();
        assert!(
            matches!(&error, Error::Hosts { message, .. } if message.contains("one line per process")),
            "{error}"
        );
        let folder = Cluster::from_hosts_file(&dir, 0, 2).unwrap_err();
        assert!(matches!(folder, Error::Hosts { .. }), "{folder}");
        let missing = Cluster::from_hosts_file(&dir.join("none"), 0, 2).unwrap_err();
        assert!(matches!(missing, Error::Hosts { .. }), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
