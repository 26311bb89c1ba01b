//! `vault lock` and `vault open`: the data directory packed into one
//! encrypted file and back, with a wrong passphrase, a damaged vault and
//! a running node each leaving everything as it was.

use std::process::Output;

use crate::served::Served;
use crate::{Node, contains};

const VAULT_PASSPHRASE: &str = "a long vault passphrase for the test";

fn vault(node: &Node, args: &[&str], passphrase: &str) -> Output {
    let mut full = vec!["vault"];
    full.extend_from_slice(args);
    node.command(&full)
        .env("SAMIZDAT_VAULT_PASSPHRASE", passphrase)
        .output()
        .expect("samizdat runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_data_directory_locks_into_a_vault_and_opens_again() {
    let node = Node::start();
    let text = "Свидетельство, которое должно пережить обыск";
    node.add_photo_testimony(text);
    std::fs::write(
        node.data().join("samizdat.toml"),
        "[[peers]]\nurl = \"ws://127.0.0.1:9\"\n",
    )
    .expect("config written");
    let before = node.json(&["list"]);
    let file = node.dir.path().join("data.samizdat-vault");

    // A running node holds the directory: nothing is locked under it.
    let mut served = Served::start(&node, "[[peers]]\nurl = \"ws://127.0.0.1:9\"\n");
    let out = vault(&node, &["lock", "--yes"], VAULT_PASSPHRASE);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("in use"), "{}", stderr(&out));
    assert!(!file.exists());
    served.stop(libc::SIGTERM);
    drop(served);

    // Without --yes and with no terminal to ask, nothing is destroyed,
    // even with the passphrase in the environment.
    let out = vault(&node, &["lock"], VAULT_PASSPHRASE);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(node.data().exists() && !file.exists());
    // A weak passphrase is said to be weak.
    let weak = node.dir.path().join("weak.samizdat-vault");
    let out = vault(
        &node,
        &["lock", "--file", weak.to_str().expect("path")],
        "x",
    );
    assert!(stderr(&out).contains("weak"), "{}", stderr(&out));
    assert!(node.data().exists() && !weak.exists());

    let out = vault(&node, &["lock", "--yes"], VAULT_PASSPHRASE);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!node.data().exists(), "the directory is gone");
    let sealed = std::fs::read(&file).expect("the vault is beside it");
    for plain in [text.as_bytes(), b"ws://127.0.0.1:9", b"ncryptsec1"] {
        assert!(
            !contains(&sealed, plain),
            "the vault holds text in the clear"
        );
    }
    let out = vault(&node, &["lock", "--yes"], VAULT_PASSPHRASE);
    assert!(!out.status.success(), "nothing left to lock");

    // A wrong passphrase, a damaged vault, a vault cut short: nothing
    // opens, nothing is left half-open, the vault stays.
    let out = vault(&node, &["open"], "not the passphrase");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("passphrase"), "{}", stderr(&out));
    let damaged = node.dir.path().join("damaged.samizdat-vault");
    let mut bytes = sealed.clone();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&damaged, &bytes).expect("written");
    let damaged_path = damaged.to_str().expect("path");
    let out = vault(&node, &["open", "--file", damaged_path], VAULT_PASSPHRASE);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing was opened"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&damaged, &sealed[..sealed.len() - 1000]).expect("written");
    let out = vault(&node, &["open", "--file", damaged_path], VAULT_PASSPHRASE);
    assert!(!out.status.success());
    std::fs::write(&damaged, b"not a vault at all").expect("written");
    let out = vault(&node, &["open", "--file", damaged_path], VAULT_PASSPHRASE);
    assert!(!out.status.success());
    assert!(!node.data().exists());
    assert!(!node.dir.path().join("data.opening").exists());
    assert_eq!(std::fs::read(&file).expect("still there"), sealed);

    let out = vault(&node, &["open"], VAULT_PASSPHRASE);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!file.exists(), "the vault is removed once opened");
    assert_eq!(node.json(&["list"]), before);
    node.ok(&["verify"]);
    node.ok(&["id", "show"]);
    let config = std::fs::read_to_string(node.data().join("samizdat.toml")).expect("config");
    assert!(config.contains("ws://127.0.0.1:9"));

    // A vault does not open over an existing directory.
    let out = vault(&node, &["lock", "--yes"], VAULT_PASSPHRASE);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::create_dir(node.data()).expect("a new directory");
    let out = vault(&node, &["open"], VAULT_PASSPHRASE);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("exists"), "{}", stderr(&out));
    assert!(file.exists());
}
