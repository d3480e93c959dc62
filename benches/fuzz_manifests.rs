//! A bounded fuzz run of manifest parsing and validation (not a test; `make fuzz`):
//! the example set and the fixture corpora, mutated by a seeded generator (byte flips, cut and
//! duplicated lines, YAML punctuation and extreme scalars spliced in), each fed to
//! `ManifestSet::from_texts`. No input may panic, and every rejected input must carry at least one
//! error positioned at a line and column. Inputs that break either are written to
//! `tests/fixtures/fuzz-crashes/` (kept as regression fixtures) and the run exits 1.
//!
//! `FUZZ_SECONDS` (default 30) bounds the time, `FUZZ_SEED` (default 1) picks the sequence.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ecs_reconciler::manifest::ManifestSet;

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

const TOKENS: &[&str] = &[
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "&a",
    "*a",
    "!!str",
    "---\n",
    "\t",
    "null",
    "~",
    "0",
    "-1",
    "99999999999999999999",
    "1e400",
    "0x1F",
    ".nan",
    "true",
    "\u{FEFF}",
    "é",
    "\n  ",
    "? ",
    "|\n",
    ">\n",
    "#",
    "<<: *a",
    "kind: Service\n",
    "apiVersion: ecs-reconciler/v1\n",
    "metadata: {name: x}\n",
    "spec: {}\n",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(s.len() + 1);
        match rng.below(5) {
            0 if !s.is_empty() => {
                let end = (at + rng.below(40)).min(s.len());
                s.drain(at.min(end)..end);
            }
            1 => {
                let t: Vec<char> = TOKENS[rng.below(TOKENS.len())].chars().collect();
                s.splice(at..at, t);
            }
            2 if !s.is_empty() => {
                let i = at.min(s.len() - 1);
                s[i] = char::from_u32((s[i] as u32) ^ (1 << rng.below(7))).unwrap_or('?');
            }
            3 => {
                // Duplicate a line.
                let text: String = s.iter().collect();
                let lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let i = rng.below(lines.len());
                    let mut out: Vec<&str> = lines.clone();
                    out.insert(i, lines[i]);
                    s = out.join("\n").chars().collect();
                }
            }
            _ => {
                let n = rng.below(8);
                s.splice(at..at, std::iter::repeat_n(' ', n));
            }
        }
    }
    s.into_iter().collect()
}

fn corpus(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.join("desired"), root.join("tests/fixtures")];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                && let Ok(t) = std::fs::read_to_string(&p)
            {
                out.push(t);
            }
        }
    }
    out
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seconds: u64 = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let inputs = corpus(&root);
    assert!(!inputs.is_empty(), "no corpus under desired/ and tests/fixtures/");
    let crashes = root.join("tests/fixtures/fuzz-crashes");
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (started, limit) = (Instant::now(), Duration::from_secs(seconds));
    let (mut runs, mut rejected, mut bad) = (0u64, 0u64, 0u64);
    while started.elapsed() < limit {
        let base = &inputs[rng.below(inputs.len())];
        let text = mutate(&mut rng, base);
        runs += 1;
        let result = std::panic::catch_unwind(|| ManifestSet::from_texts([("fuzz.yaml", text.as_str())]));
        let problem = match result {
            Err(_) => Some("panic"),
            Ok(set) if !set.is_valid() => {
                rejected += 1;
                let positioned = set.errors().all(|d| d.line >= 1 && d.column >= 1);
                (!positioned || set.errors().next().is_none()).then_some("rejected without a position")
            }
            Ok(_) => None,
        };
        if let Some(what) = problem {
            bad += 1;
            let _ = std::fs::create_dir_all(&crashes);
            let file = crashes.join(format!("seed{seed}-{runs}.yaml"));
            let _ = std::fs::write(&file, &text);
            eprintln!("{what}: {}", file.display());
        }
    }
    println!(
        "fuzz_manifests: {runs} inputs in {:.1}s (seed {seed}): {rejected} rejected with positions, {bad} problems",
        started.elapsed().as_secs_f64()
    );
    if bad > 0 {
        std::process::exit(1);
    }
}
