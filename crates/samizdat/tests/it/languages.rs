//! Every page and form state of the web interface, in Russian, Kazakh
//! and French, speaks only its language: no message of the English
//! catalogue that the language translates, and (in Cyrillic pages) no
//! run of English words anywhere in what a reader sees (text,
//! placeholders, labels). Code (`<code>`), the
//! language switcher and the records' own text are left out.

use reqwest::StatusCode;
use samizdat_node::views::Lang;

use crate::served::Served;
use crate::web::{Console, Session, form, testimony};
use crate::{Node, tour_photo};

/// Words that are the same in every language: names of formats, of
/// protocols and of the program.
const SAME_EVERYWHERE: &[&str] = &[
    "samizdat", "nostr", "blossom", "jpeg", "png", "webp", "heic", "gif", "avif", "mp4", "mp3",
    "gps", "utc", "nsec", "npub", "ws", "wss", "http", "https", "id", "new", "ru", "kk", "en",
    "fr", "pfif", "csv",
];

/// What a reader sees of `html`: text and the attributes a browser
/// shows, without scripts, styles, code and the language switcher.
fn visible(html: &str) -> String {
    let mut html = html.to_string();
    for (open, close) in [
        ("<script", "</script>"),
        ("<style", "</style>"),
        ("<code", "</code>"),
        ("<nav class=\"langs\"", "</nav>"),
        ("<div class=\"text\"", "</div>"),
        ("<span class=\"excerpt\"", "</span>"),
        ("<p class=\"details\"", "</p>"),
    ] {
        while let Some(start) = html.find(open) {
            let Some(end) = html[start..].find(close) else {
                break;
            };
            html.replace_range(start..start + end + close.len(), " ");
        }
    }
    let mut out = String::new();
    let mut rest = html.as_str();
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        out.push(' ');
        let Some(gt) = rest[lt..].find('>') else {
            break;
        };
        let tag = &rest[lt..lt + gt];
        for attr in ["placeholder=\"", "aria-label=\"", "title=\"", "alt=\""] {
            if let Some(at) = tag.find(attr) {
                let value = &tag[at + attr.len()..];
                out.push_str(value.split('"').next().unwrap_or(""));
                out.push(' ');
            }
        }
        rest = &rest[lt + gt + 1..];
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Runs of three or more words of Latin letters alone, not counting the
/// words every language shares.
fn english_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || ",.;:!?()«»—–·/\"'".contains(c)) {
        if word.is_empty() {
            continue;
        }
        let latin = word.chars().all(|c| c.is_ascii_alphabetic());
        if latin && !SAME_EVERYWHERE.contains(&word.to_ascii_lowercase().as_str()) {
            run.push(word);
        } else {
            if run.len() >= 3 {
                runs.push(run.join(" "));
            }
            run.clear();
        }
    }
    if run.len() >= 3 {
        runs.push(run.join(" "));
    }
    runs
}

/// What is wrong with `html` for a page in `lang`: English messages the
/// language translates, and runs of English words.
fn english_in(lang: Lang, html: &str) -> Vec<String> {
    let text = visible(html);
    let own: std::collections::HashMap<_, _> = lang.messages().into_iter().collect();
    let mut found = Vec::new();
    for (key, english) in Lang::En.messages() {
        if own.get(key) == Some(&english) {
            continue;
        }
        for part in english.split("{n}") {
            let part = part.trim();
            if part.chars().count() >= 12 && text.contains(part) {
                found.push(format!("{key}: {part:?}"));
            }
        }
    }
    // French is written in Latin letters too: there, the catalogue
    // alone tells English apart.
    if lang != Lang::Fr {
        found.extend(english_runs(&text));
    }
    found
}

#[test]
fn the_checks_catch_english() {
    let page = "<p>Записи <b>were stored here</b></p><code>samizdat id new</code>";
    assert_eq!(english_runs(&visible(page)), ["were stored here"]);
    let page = "<input placeholder=\"Photos, sound or video (optional)\">";
    assert!(!english_in(Lang::Ru, page).is_empty());
    assert!(english_in(Lang::Ru, "<p>Оставить запись: JPEG, PNG</p>").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn russian_kazakh_and_french_pages_speak_only_their_language() {
    let node = Node::start();
    node.add_photo_testimony("У акимата задержали двоих");
    let person = node.json(&[
        "person",
        "report",
        "--name",
        "Асель Нұрланқызы",
        "--age",
        "34",
        "--role",
        "журналист",
        "--status",
        "detained",
        "--source",
        "witnessed",
        "--details",
        "Увезли на белой машине.",
    ]);
    let person = person
        .last()
        .and_then(|v| v["id"].as_str())
        .expect("an id")
        .to_string();
    let testimony_id = node
        .json(&["list"])
        .iter()
        .filter_map(|v| v["id"].as_str())
        .find(|id| *id != person)
        .expect("the testimony")
        .to_string();
    let served = Served::start(&node, "");
    let photo = std::fs::read(tour_photo()).expect("the tour photo");

    for lang in [Lang::Ru, Lang::Kk, Lang::Fr] {
        let code = lang.code();
        let mut pages: Vec<(String, String)> = Vec::new();
        let session = Session::open(&served, "/submit/testimony")
            .await
            .speaking(code);
        for path in [
            "/".to_string(),
            "/timeline".into(),
            "/timeline?kind=person&language=kk".into(),
            "/search?q=%D0%B0%D0%BA%D0%B8%D0%BC%D0%B0%D1%82".into(),
            format!("/r/{testimony_id}"),
            "/people".into(),
            format!("/people/{person}"),
            "/node".into(),
            "/submit".into(),
            "/submit/testimony".into(),
            "/submit/person".into(),
            "/timeline?day=yesterday".into(),
            format!("/r/{}", "0".repeat(64)),
        ] {
            let (_, page) = session.get(&path).await;
            pages.push((path, page));
        }
        // The form's states: stored with a photo, stored sealed, refused.
        let (status, page) = session
            .post(
                "/submit/testimony",
                form(
                    &testimony(&session.token, "Бүгін ұсталды", "public"),
                    &[("photo.jpg", &photo)],
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages.push(("stored, with a photo".into(), page));
        pages.push((
            "stored, sealed".into(),
            session.leave_sealed_photo("Запечатано").await,
        ));
        for (name, bytes) in [
            ("notes.txt", b"just text".as_slice()),
            ("cut.jpg", &photo[..photo.len() / 3]),
        ] {
            let (status, page) = session
                .post(
                    "/submit/testimony",
                    form(
                        &testimony(&session.token, "Бүгін", "public"),
                        &[(name, bytes)],
                    ),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            pages.push((format!("refused {name}"), page));
        }

        // The console: locked, after a wrong passphrase, unlocked.
        let mut console = Console::open(&served).await;
        console.cookies = format!("{}; lang={code}", console.cookies);
        pages.push(("console, locked".into(), console.page("/console").await));
        let answer = console
            .post("/console/unlock", &[("passphrase", "not the passphrase")])
            .await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
        let wrong = answer.text().await.expect("a page");
        assert!(
            wrong.contains("action=\"/console/unlock\""),
            "the wrong passphrase page offers the form again: {wrong}"
        );
        pages.push(("console, wrong passphrase".into(), wrong));
        let mut console = Console::unlock(&served).await;
        console.cookies = format!("{}; lang={code}", console.cookies);
        let home = console.page("/console").await;
        let wrap = home
            .split("href=\"/console/sealed/")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a sealed record")
            .to_string();
        pages.push(("console".into(), home));
        pages.push((
            "console, a sealed record".into(),
            console.page(&format!("/console/sealed/{wrap}")).await,
        ));

        // The check is not blind: the English pages fail it.
        let (_, english) = session.get("/submit/testimony?lang=en").await;
        assert!(english_in(lang, &english).len() > 3, "{english}");
        if std::env::var_os("SHOW_PAGES").is_some() {
            for (name, page) in &pages {
                eprintln!(
                    "== {code} {name}\n{}",
                    visible(page)
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
        }
        let mut problems = Vec::new();
        for (name, page) in &pages {
            assert!(page.contains(&format!("<html lang=\"{code}\">")), "{name}");
            for found in english_in(lang, page) {
                problems.push(format!("{code} {name}: {found}"));
            }
        }
        assert!(
            problems.is_empty(),
            "English on the page:\n{}",
            problems.join("\n")
        );
    }
}
