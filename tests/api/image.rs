//! The image keeps building: no Docker engine runs where the tests run, so nothing else
//! would notice a workspace member the Dockerfile's dependency stage leaves out. That
//! stage copies each member's manifest and stands in for its targets before the source
//! arrives; a member it misses fails the build with "failed to load manifest".

use std::path::Path;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The workspace's members other than the root, from its `members = [...]` line.
fn members() -> Vec<String> {
    let manifest = read("Cargo.toml");
    let line = manifest
        .lines()
        .find(|line| line.trim_start().starts_with("members"))
        .expect("a members line");
    line.split('"')
        .skip(1)
        .step_by(2)
        .filter(|member| *member != ".")
        .map(str::to_owned)
        .collect()
}

/// The line of the Dockerfile that starts with `start`, joined with its continuations.
fn instruction(dockerfile: &str, start: &str) -> String {
    let mut lines = dockerfile
        .lines()
        .skip_while(|line| !line.starts_with(start));
    let mut joined = String::new();
    for line in lines.by_ref() {
        joined.push_str(line);
        joined.push(' ');
        if !line.trim_end().ends_with('\\') {
            break;
        }
    }
    joined
}

#[test]
fn the_dockerfile_copies_every_workspace_members_manifest_and_stands_in_for_its_targets() {
    let dockerfile = read("Dockerfile");
    let stand_ins = instruction(&dockerfile, "RUN mkdir -p src");
    let members = members();
    assert!(
        !members.is_empty(),
        "the workspace has members besides the root"
    );
    for member in &members {
        let manifest = format!("COPY {member}/Cargo.toml {member}/Cargo.toml");
        assert!(
            dockerfile.contains(&manifest),
            "the Dockerfile lacks `{manifest}`"
        );
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(member);
        for (target, stand_in) in [
            ("lib.rs", format!("{member}/src/lib.rs")),
            ("main.rs", format!("> {member}/src/main.rs")),
        ] {
            if root.join("src").join(target).is_file() {
                assert!(
                    stand_ins.contains(&stand_in),
                    "the dependency stage stands in for {member}/src/{target}: `{stand_in}`"
                );
            }
        }
        assert!(
            stand_ins.contains("rm -rf src") && stand_ins.contains(&format!(" {member}/src")),
            "the dependency stage makes and removes {member}/src"
        );
    }
    for copied in dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("COPY "))
        .filter_map(|line| line.split_once("/Cargo.toml "))
        .map(|(member, _)| member)
    {
        assert!(
            members.iter().any(|member| member == copied),
            "the Dockerfile copies {copied}/Cargo.toml, which is no workspace member"
        );
    }
}
