//! An authorization workload on Cedar (`cedar-policy`) and on nesy: users
//! in groups, groups in groups (membership is transitive), documents with
//! an owner and a reader group, suspended users denied everything.
//!
//! Cedar:
//! ```text
//! permit(principal, action == Action::"read", resource) when { principal in resource.readers };
//! permit(principal, action, resource) when { resource.owner == principal };
//! forbid(principal, action, resource) when { principal.suspended };
//! ```
//! nesy: the same three rules over the same entities as facts (see
//! [`RULES`]), each request an input fact of `Engine::decide("permit")`.
//! Both answer the same seeded requests; every answer is compared, and the
//! latency of each call is measured on its own (p50, p99).

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
use serde_json::json;
use std::str::FromStr;
use std::time::{Duration, Instant};

const POLICIES: &str = r#"
permit(principal, action == Action::"read", resource) when { principal in resource.readers };
permit(principal, action, resource) when { resource.owner == principal };
forbid(principal, action, resource) when { principal.suspended };
"#;

const RULES: &str = "
@decl request(user: symbol, action: symbol, doc: symbol).
@input request.
in_group(U, G) :- member_of(U, G).
in_group(U, G) :- in_group(U, H), parent(H, G).
allowed(U, A, D) :- request(U, A, D), A = read, readers(D, G), in_group(U, G).
allowed(U, A, D) :- request(U, A, D), owner(D, U).
denied(U, A, D) :- request(U, A, D), suspended(U).
permit(U, A, D) :- allowed(U, A, D), not denied(U, A, D).
";

/// A small seeded generator (SplitMix64), so both engines see one world.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// The entities and requests.
pub struct World {
    /// `(user, groups)`.
    members: Vec<Vec<usize>>,
    /// Each group's parent, if any (a forest: recursive membership).
    parents: Vec<Option<usize>>,
    /// `(owner, reader group)` per document.
    documents: Vec<(usize, usize)>,
    suspended: Vec<bool>,
    /// `(user, "read" | "write", document)`.
    requests: Vec<(usize, &'static str, usize)>,
}

impl World {
    pub fn new(users: usize, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let groups = (users / 10).max(2);
        let parents: Vec<Option<usize>> = (0..groups)
            .map(|g| (g > 0 && rng.below(5) > 0).then(|| rng.below(g)))
            .collect();
        let members: Vec<Vec<usize>> = (0..users)
            .map(|_| (0..1 + rng.below(2)).map(|_| rng.below(groups)).collect())
            .collect();
        let documents: Vec<(usize, usize)> = (0..users * 2)
            .map(|_| (rng.below(users), rng.below(groups)))
            .collect();
        let suspended = (0..users).map(|_| rng.below(30) == 0).collect();
        // A third of the requests ask for a document the user owns, a third
        // for one readable by a group the user is in (directly or through
        // its ancestors), a third for any document: many allowed, many not.
        let mut owned: Vec<Vec<usize>> = vec![Vec::new(); users];
        let mut readable: Vec<Vec<usize>> = vec![Vec::new(); groups];
        for (d, &(owner, readers)) in documents.iter().enumerate() {
            owned[owner].push(d);
            readable[readers].push(d);
        }
        let requests = (0..10_000)
            .map(|_| {
                let action = if rng.below(4) == 0 { "write" } else { "read" };
                let user = rng.below(users);
                let doc = match rng.below(3) {
                    0 if !owned[user].is_empty() => owned[user][rng.below(owned[user].len())],
                    1 => {
                        let groups: &Vec<usize> = &members[user];
                        let mut g = groups[rng.below(groups.len())];
                        while let (Some(p), true) = (parents[g], rng.below(2) == 0) {
                            g = p;
                        }
                        if readable[g].is_empty() {
                            rng.below(users * 2)
                        } else {
                            readable[g][rng.below(readable[g].len())]
                        }
                    }
                    _ => rng.below(users * 2),
                };
                (user, action, doc)
            })
            .collect();
        World {
            members,
            parents,
            documents,
            suspended,
            requests,
        }
    }

    fn cedar_entities(&self) -> Entities {
        let mut list = Vec::new();
        for (u, groups) in self.members.iter().enumerate() {
            list.push(json!({
                "uid": {"type": "User", "id": format!("u{u}")},
                "attrs": {"suspended": self.suspended[u]},
                "parents": groups.iter().map(|g| json!({"type": "Group", "id": format!("g{g}")})).collect::<Vec<_>>(),
            }));
        }
        for (g, parent) in self.parents.iter().enumerate() {
            list.push(json!({
                "uid": {"type": "Group", "id": format!("g{g}")},
                "attrs": {},
                "parents": parent.iter().map(|p| json!({"type": "Group", "id": format!("g{p}")})).collect::<Vec<_>>(),
            }));
        }
        for (d, (owner, readers)) in self.documents.iter().enumerate() {
            list.push(json!({
                "uid": {"type": "Document", "id": format!("d{d}")},
                "attrs": {
                    "owner": {"__entity": {"type": "User", "id": format!("u{owner}")}},
                    "readers": {"__entity": {"type": "Group", "id": format!("g{readers}")}},
                },
                "parents": [],
            }));
        }
        Entities::from_json_value(serde_json::Value::Array(list), None).expect("entities")
    }

    fn nesy_facts(&self) -> String {
        let mut text = String::from(RULES);
        for (u, groups) in self.members.iter().enumerate() {
            for g in groups {
                text.push_str(&format!("member_of(u{u}, g{g}).\n"));
            }
            if self.suspended[u] {
                text.push_str(&format!("suspended(u{u}).\n"));
            }
        }
        for (g, parent) in self.parents.iter().enumerate() {
            if let Some(p) = parent {
                text.push_str(&format!("parent(g{g}, g{p}).\n"));
            }
        }
        for (d, (owner, readers)) in self.documents.iter().enumerate() {
            text.push_str(&format!(
                "owner(d{d}, u{owner}).\nreaders(d{d}, g{readers}).\n"
            ));
        }
        text
    }
}

/// Median and 99th percentile.
fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

pub fn run(users: usize) {
    let world = World::new(users, 42);
    // Cedar.
    let policies = PolicySet::from_str(POLICIES).expect("policies");
    let entities = world.cedar_entities();
    let authorizer = Authorizer::new();
    let uid = |t: &str, id: String| EntityUid::from_str(&format!("{t}::\"{id}\"")).expect("uid");
    let cedar_requests: Vec<Request> = world
        .requests
        .iter()
        .map(|(u, a, d)| {
            Request::new(
                uid("User", format!("u{u}")),
                uid("Action", a.to_string()),
                uid("Document", format!("d{d}")),
                Context::empty(),
                None,
            )
            .expect("request")
        })
        .collect();
    // nesy.
    let engine = nesy::Engine::builder()
        .rules_text("authz.nesy", &world.nesy_facts())
        .build()
        .expect("rules");
    let nesy_inputs: Vec<nesy::Input> = world
        .requests
        .iter()
        .map(|(u, a, d)| {
            serde_json::from_value(json!({"request": [[format!("u{u}"), a, format!("d{d}")]]}))
                .expect("input")
        })
        .collect();
    let options = nesy::DecideOptions::default();
    // Warm both, then time each call.
    for (r, i) in cedar_requests.iter().zip(&nesy_inputs).take(500) {
        authorizer.is_authorized(r, &policies, &entities);
        engine.decide("permit", i, &options).expect("decide");
    }
    let mut cedar_times = Vec::with_capacity(cedar_requests.len());
    let mut cedar_allowed = Vec::with_capacity(cedar_requests.len());
    for r in &cedar_requests {
        let start = Instant::now();
        let answer = authorizer.is_authorized(r, &policies, &entities);
        cedar_times.push(start.elapsed());
        cedar_allowed.push(answer.decision() == Decision::Allow);
    }
    let mut nesy_times = Vec::with_capacity(nesy_inputs.len());
    let mut nesy_allowed = Vec::with_capacity(nesy_inputs.len());
    for i in &nesy_inputs {
        let start = Instant::now();
        let decision = engine.decide("permit", i, &options).expect("decide");
        nesy_times.push(start.elapsed());
        nesy_allowed.push(decision.holds);
    }
    let disagree = cedar_allowed
        .iter()
        .zip(&nesy_allowed)
        .filter(|(a, b)| a != b)
        .count();
    let allowed = cedar_allowed.iter().filter(|a| **a).count();
    let (cp50, cp99) = percentiles(cedar_times);
    let (np50, np99) = percentiles(nesy_times);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "authorization: {users} users, {} groups, {} documents, {} requests ({allowed} allowed); answers that differ: {disagree}\n",
        world.parents.len(),
        world.documents.len(),
        world.requests.len()
    );
    println!("| engine | p50 | p99 |");
    println!("|---|---:|---:|");
    println!(
        "| Cedar (cedar-policy) | {:.1} µs | {:.1} µs |",
        us(cp50),
        us(cp99)
    );
    println!("| nesy | {:.1} µs | {:.1} µs |", us(np50), us(np99));
    println!(
        "| nesy / Cedar | {:.2}x | {:.2}x |",
        us(np50) / us(cp50),
        us(np99) / us(cp99)
    );
    if disagree > 0 {
        std::process::exit(1);
    }
}
