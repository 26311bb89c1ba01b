//! The web interface over real HTTP: forms that lack their token, bad
//! files, hostile text, sealed submissions, limits. The browser test (a
//! real Chromium on a phone-sized screen) is scripts/web/run.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, COOKIE, SET_COOKIE};

use crate::served::Served;
use crate::{Node, contains, http, tour_photo};

const BOUNDARY: &str = "samizdat-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart form: text fields, then files.
pub(crate) fn form(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; \
                 filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A browser session: the CSRF cookie a form page set, and its token.
pub(crate) struct Session {
    base: String,
    cookie: String,
    pub(crate) token: String,
}

impl Session {
    pub(crate) async fn open(served: &Served, path: &str) -> Session {
        Session::open_with(served, path, "").await
    }

    /// Opens a form page, sending `cookie` with the request.
    async fn open_with(served: &Served, path: &str, cookie: &str) -> Session {
        let base = format!("http://{}", served.addr);
        let answer = http()
            .get(format!("{base}{path}"))
            .header(COOKIE, cookie)
            .send()
            .await
            .expect("the form loads");
        assert_eq!(answer.status(), StatusCode::OK);
        let cookie = answer
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("samizdat_csrf="))
            .and_then(|c| c.split(';').next())
            .expect("the form sets its CSRF cookie")
            .to_string();
        let page = answer.text().await.expect("a page");
        let token = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the form carries its token")
            .to_string();
        assert_eq!(cookie, format!("samizdat_csrf={token}"));
        Session {
            base,
            cookie,
            token,
        }
    }

    /// The same session in the interface language `code`, as a browser
    /// that chose it on the page would be.
    pub(crate) fn speaking(mut self, code: &str) -> Session {
        self.cookie = format!("{}; lang={code}", self.cookie);
        self
    }

    pub(crate) async fn post(&self, path: &str, body: Vec<u8>) -> (StatusCode, String) {
        let answer = self.send(path, body).await;
        let status = answer.status();
        (status, answer.text().await.unwrap_or_default())
    }

    /// Posts a form; the whole answer.
    pub(crate) async fn send(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        http()
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .expect("the node answers")
    }

    /// Leaves a testimony with the tour photo, sealed for the documenters;
    /// returns the confirmation page.
    pub(crate) async fn leave_sealed_photo(&self, text: &str) -> String {
        let photo = std::fs::read(tour_photo()).expect("the tour photo");
        let (status, page) = self
            .post(
                "/submit/testimony",
                form(
                    &testimony(&self.token, text, "sealed"),
                    &[("photo.jpg", &photo)],
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, String) {
        let answer = http()
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .expect("the node answers");
        let status = answer.status();
        (status, answer.text().await.unwrap_or_default())
    }
}

pub(crate) fn testimony<'a>(
    token: &'a str,
    text: &'a str,
    visibility: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", token),
        ("text", text),
        ("lang", "ru"),
        ("place", "Алматы"),
        ("observed", "2026-11-30T14:30"),
        ("visibility", visibility),
    ]
}

#[tokio::test]
async fn a_form_without_its_token_stores_nothing() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let session = Session::open(&served, "/submit/testimony").await;
    let text = "Задержали троих у входа";

    // No cookie at all: a page of another site posting here.
    let answer = http()
        .post(format!("{}/submit/testimony", session.base))
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(form(&testimony(&session.token, text, "public"), &[]))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    // The cookie, but another token.
    let forged = "0".repeat(64);
    let (status, page) = session
        .post(
            "/submit/testimony",
            form(&testimony(&forged, text, "public"), &[]),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    // The right token, from a page that says it is another site.
    let answer = http()
        .post(format!("{}/submit/testimony", session.base))
        .header(COOKIE, &session.cookie)
        .header("Origin", "http://attacker.invalid")
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(form(&testimony(&session.token, text, "public"), &[]))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(node.json(&["list"]).is_empty(), "nothing was stored");

    // With both, it is stored.
    let (status, page) = session
        .post(
            "/submit/testimony",
            form(&testimony(&session.token, text, "public"), &[]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(node.json(&["list"]).len(), 1);
}

#[tokio::test]
async fn a_bad_file_is_refused_and_the_witness_keeps_their_text() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let session = Session::open(&served, "/submit/testimony").await;
    let photo = std::fs::read(tour_photo()).expect("the tour photo");
    let text = "Текст, который нельзя потерять: Бүгін ұсталды";
    for (name, bytes) in [
        ("cut.jpg", &photo[..photo.len() / 3]),
        ("notes.txt", b"just some text, not media".as_slice()),
        ("empty.jpg", b"".as_slice()),
    ] {
        let (status, page) = session
            .post(
                "/submit/testimony",
                form(&testimony(&session.token, text, "public"), &[(name, bytes)]),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {page}");
        assert!(page.contains("A file was refused"), "{name}: {page}");
        assert!(page.contains(name), "the error names {name}: {page}");
        assert!(page.contains(text), "the form comes back with the text");
    }
    assert!(node.json(&["list"]).is_empty(), "nothing was stored");
    let blobs = crate::sealed::files(&node.data().join("blobs"));
    assert!(
        blobs.is_empty(),
        "blobs stored for a refused record: {blobs:?}"
    );
}

#[tokio::test]
async fn what_a_record_says_is_shown_never_run() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let session = Session::open(&served, "/submit/testimony").await;
    let hostile = "<script>alert('x')</script><img src=x onerror=alert(1)> \"quoted\" & more";
    let (status, page) = session
        .post(
            "/submit/testimony",
            form(&testimony(&session.token, hostile, "public"), &[]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let id = page
        .split("href=\"/r/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the confirmation links to the record")
        .to_string();
    for path in [
        format!("/r/{id}"),
        "/timeline".into(),
        "/search?q=alert".into(),
    ] {
        let answer = http()
            .get(format!("{}{path}", session.base))
            .send()
            .await
            .expect("answers");
        let csp = answer
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(csp.contains("default-src 'none'"), "{path}: CSP {csp:?}");
        assert!(
            answer
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{path}: no other site may read the pages"
        );
        let page = answer.text().await.expect("a page");
        assert!(!page.contains("<script"), "{path} runs the record's script");
        assert!(
            !page.contains("<img src=x"),
            "{path} renders the record's HTML"
        );
        assert!(
            page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"),
            "{path} shows the text as text"
        );
    }
}

#[tokio::test]
async fn sealed_submissions_reach_only_the_documenters() {
    // The node's default identity is its documenter.
    let node = Node::start();
    let served = Served::start(&node, "");
    let session = Session::open(&served, "/submit/testimony").await;
    let text = "Только для документаторов: имена задержанных";
    let page = session.leave_sealed_photo(text).await;
    assert!(page.contains("sealed for 1 documenter"), "{page}");
    assert!(
        !page.contains("href=\"/r/"),
        "a sealed record has no public page"
    );

    // Nothing public: not in the timeline, not in the store's records,
    // not in any file of the data directory in plain text.
    assert!(node.json(&["list"]).is_empty());
    let (_, timeline) = session.get("/timeline").await;
    assert!(!timeline.contains("документаторов"));
    for (path, bytes) in crate::sealed::files(&node.data()) {
        assert!(
            !contains(&bytes, "имена задержанных".as_bytes()),
            "{} holds the sealed text in the clear",
            path.display()
        );
    }
    // The documenter opens it, photo included.
    let sealed = node.json(&["sealed", "list"]);
    let record = sealed
        .iter()
        .find(|v| v["kind"] == "testimony")
        .expect("the documenter sees the sealed testimony");
    let shown = node
        .json(&["sealed", "show", record["wrap"].as_str().expect("wrap id")])
        .pop()
        .expect("shown");
    assert_eq!(
        shown["inner"]["content"]
            .as_str()
            .map(|c| c.starts_with(text)),
        Some(true)
    );
    assert!(
        sealed.iter().any(|v| v["kind"] == "file"),
        "the photo is sealed too: {sealed:?}"
    );
}

#[tokio::test]
async fn without_documenters_the_drop_box_takes_only_public_records() {
    // A data directory with no identity, and no documenters configured.
    let node = Node {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    node.ok(&["init"]);
    let served = Served::start(&node, "");
    let session = Session::open(&served, "/submit/testimony").await;
    let (_, page) = session.get("/submit/testimony").await;
    assert!(
        !page.contains("value=\"sealed\""),
        "no sealed choice offered"
    );
    let (status, page) = session
        .post(
            "/submit/testimony",
            form(&testimony(&session.token, "Для кого?", "sealed"), &[]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("no documenters"), "{page}");
}

#[tokio::test]
async fn the_drop_box_has_limits() {
    let node = Node::start();
    let served = Served::start(
        &node,
        "[web]\nsubmissions_per_hour = 3\nmax_upload_bytes = 65536\n",
    );
    let session = Session::open(&served, "/submit/person").await;
    let report = |name: &'static str| {
        form(
            &[
                ("csrf", &session.token),
                ("name", name),
                ("status", "detained"),
                ("source", "witnessed"),
                ("visibility", "public"),
            ],
            &[],
        )
    };
    let too_big = form(
        &[("csrf", &session.token), ("name", "Большой")],
        &[("big.jpg", &vec![0xffu8; 100_000])],
    );
    // Refused once the limit is read: the client sees the 413, or only the
    // closed connection if it was still sending. Nothing is stored; the
    // try was paid for from the budget before its body was read.
    let answer = http()
        .post(format!("{}/submit/person", session.base))
        .header(COOKIE, &session.cookie)
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(too_big)
        .send()
        .await;
    match answer {
        Ok(answer) => assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request(), "the form failed otherwise: {e}"),
    }
    assert!(node.json(&["list"]).is_empty());
    for name in ["Первый Человек", "Второй Человек"] {
        let (status, page) = session.post("/submit/person", report(name)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
    }
    let (status, page) = session
        .post("/submit/person", report("Третий Человек"))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    // The report comes back, to send again later.
    assert!(page.contains("Третий Человек"), "{page}");
    assert_eq!(node.json(&["list"]).len(), 2);

    let bad_key = form(
        &[
            ("csrf", &session.token),
            ("name", "Четвёртый"),
            ("status", "detained"),
            ("source", "witnessed"),
            ("key", "nsec1notakey"),
        ],
        &[],
    );
    let (status, _) = session.post("/submit/person", bad_key).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the budget is spent");
}

#[tokio::test]
async fn a_witness_who_keeps_their_key_writes_as_the_same_person() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let session = Session::open(&served, "/submit/testimony").await;
    let (_, first) = session
        .post(
            "/submit/testimony",
            form(&testimony(&session.token, "Первое", "public"), &[]),
        )
        .await;
    let nsec = first
        .split("id=\"nsec\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a new witness is shown their key")
        .to_string();
    let mut fields = testimony(&session.token, "Второе", "public");
    fields.push(("key", &nsec));
    let (status, second) = session.post("/submit/testimony", form(&fields, &[])).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert!(
        !second.contains("id=\"nsec\""),
        "a known key is not shown again"
    );
    let authors: Vec<String> = node
        .json(&["list"])
        .iter()
        .map(|v| v["pubkey"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(authors.len(), 2);
    assert_eq!(authors[0], authors[1], "both records have one author");
    // The node kept no copy of the key.
    for (path, bytes) in crate::sealed::files(&node.data()) {
        assert!(
            !contains(&bytes, nsec.as_bytes()),
            "{} holds the key",
            path.display()
        );
    }
    let mut fields = testimony(&session.token, "Третье", "public");
    fields.push(("key", "nsec1qqqqnotakeyatall"));
    let (status, page) = session.post("/submit/testimony", form(&fields, &[])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("not a key"), "{page}");
}

#[tokio::test]
async fn pages_speak_the_browsers_language() {
    let node = Node::start();
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
        "Увезли на белой машине без номеров.",
    ]);
    let person = person.last().and_then(|v| v["id"].as_str()).expect("an id");
    let served = Served::start(&node, "");
    let base = format!("http://{}", served.addr);
    // The registry page says what the reports carry: age, role, details.
    let page = http()
        .get(format!("{base}/people/{person}?lang=ru"))
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("a page");
    for said in ["34", "журналист", "Увезли на белой машине без номеров."]
    {
        assert!(page.contains(said), "{said}: {page}");
    }
    for (accept, lang, word) in [
        ("kk-KZ,kk;q=0.9,ru;q=0.8", "kk", "Жазба қалдыру"),
        ("ru-RU,ru;q=0.9", "ru", "Оставить запись"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr", "Déposer un document"),
        ("de-DE", "en", "Leave a record"),
    ] {
        let page = http()
            .get(format!("{base}/"))
            .header(ACCEPT_LANGUAGE, accept)
            .send()
            .await
            .expect("answers")
            .text()
            .await
            .expect("a page");
        assert!(
            page.contains(&format!("<html lang=\"{lang}\">")),
            "{accept}"
        );
        assert!(page.contains(word), "{accept}: {word}");
    }
    // A choice made on the page wins over the browser, and is remembered.
    let answer = http()
        .get(format!("{base}/people?lang=kk"))
        .header(ACCEPT_LANGUAGE, "fr")
        .send()
        .await
        .expect("answers");
    assert!(
        answer
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().is_ok_and(|c| c.starts_with("lang=kk")))
    );
    assert!(answer.text().await.expect("page").contains("Адамдар"));

    let (status, _) = (
        http()
            .get(format!("{base}/r/not-an-id"))
            .send()
            .await
            .expect("answers")
            .status(),
        (),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_web_interface_can_be_turned_off() {
    let node = Node::start();
    let served = Served::start(&node, "[web]\nenabled = false\n");
    let base = format!("http://{}", served.addr);
    let answer = http()
        .get(format!("{base}/submit"))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let home = http()
        .get(format!("{base}/"))
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    assert!(home.contains("Nostr clients"), "{home}");
}

/// A form of the console, urlencoded.
fn console_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let value: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn the_documenter_reviews_publishes_and_corroborates_from_the_console() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let witness = Session::open(&served, "/submit/testimony").await;
    let text = "Запечатано для документатора: у акимата задержали двоих";
    witness.leave_sealed_photo(text).await;

    // A wrong passphrase opens nothing; acting while locked is refused.
    let mut console = Console::open(&served).await;
    let other_browser = console.clone();
    assert_eq!(
        console.unlock_with("not the passphrase").await,
        StatusCode::FORBIDDEN
    );
    let zero = "0".repeat(64);
    let answer = console
        .post(
            "/console/attest",
            &[("target", &zero), ("label", "verified")],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        console.unlock_with(crate::PASSPHRASE).await,
        StatusCode::SEE_OTHER
    );

    // The sealed testimony is listed, with a button to publish it.
    let home = console.page("/console").await;
    assert!(home.contains("у акимата задержали двоих"), "{home}");
    let wrap = home
        .split("name=\"wrap\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a publish button")
        .to_string();

    // Another browser on the same machine has no session; a page that
    // reaches the node under another name gets nothing.
    let answer = other_browser
        .post("/console/publish", &[("wrap", &wrap)])
        .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let rebound = console
        .client
        .get(format!("{}/console", console.base))
        .header(COOKIE, &console.cookies)
        .header("Host", format!("evil.example:{}", served.addr.port()))
        .send()
        .await
        .expect("answers");
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    assert!(node.json(&["list"]).is_empty());

    // Published: the author's record, signed by the author, with its
    // photo opened from the sealed file.
    let answer = console.post("/console/publish", &[("wrap", &wrap)]).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("goes to the record")
        .to_string();
    let id = location.trim_start_matches("/r/").to_string();
    let listed = node.json(&["list"]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    node.ok(&["verify"]);

    let answer = console
        .post(
            "/console/attest",
            &[
                ("target", &id),
                ("label", "corroborates"),
                ("note", "Видела то же самое"),
            ],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, record) = witness.get(&location).await;
    assert!(record.contains("corroborates"), "{record}");
    assert!(record.contains("Видела то же самое"), "{record}");
    assert!(record.contains("<img src=\"/"), "the photo is public now");
    // Served as a blob, it can run nothing and is an origin of its own,
    // whatever its uploader called it.
    let src = record
        .split("<img src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the photo's address");
    let blob = http()
        .get(format!("{}{src}", console.base))
        .send()
        .await
        .expect("answers");
    let csp = blob
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(
        blob.headers()
            .get("x-content-type-options")
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );

    // Locked again, the console signs nothing.
    let answer = console.post("/console/lock", &[]).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let answer = console
        .post("/console/attest", &[("target", &id), ("label", "disputes")])
        .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
}

/// A browser on the node's machine, at the console.
#[derive(Clone)]
pub(crate) struct Console {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    pub(crate) cookies: String,
    pub(crate) token: String,
}

impl Console {
    /// Follows the link `serve` printed, which hands the browser the
    /// access key in a cookie, then opens the console page.
    pub(crate) async fn open(served: &Served) -> Console {
        http(); // installs the TLS provider every client needs
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let answer = client.get(&served.console).send().await.expect("answers");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        let access = answer
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.split(';')
                    .next()
                    .filter(|c| c.starts_with("samizdat_access="))
            })
            .expect("the link sets the access cookie")
            .to_string();
        let session = Session::open_with(served, "/console", &access).await;
        Console {
            client,
            base: session.base,
            cookies: format!("{access}; {}", session.cookie),
            token: session.token,
        }
    }

    /// Unlocks with `passphrase`; keeps the console's cookie when it opens.
    pub(crate) async fn unlock_with(&mut self, passphrase: &str) -> StatusCode {
        let answer = self
            .post("/console/unlock", &[("passphrase", passphrase)])
            .await;
        let unlocked = answer
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.split(';')
                    .next()
                    .filter(|c| c.starts_with("samizdat_console="))
            });
        if let Some(cookie) = unlocked {
            self.cookies = format!("{}; {cookie}", self.cookies);
        }
        answer.status()
    }

    pub(crate) async fn unlock(served: &Served) -> Console {
        let mut console = Console::open(served).await;
        assert_eq!(
            console.unlock_with(crate::PASSPHRASE).await,
            StatusCode::SEE_OTHER
        );
        console
    }

    pub(crate) async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let mut all = vec![("csrf", self.token.as_str())];
        all.extend_from_slice(pairs);
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookies)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(console_form(&all))
            .send()
            .await
            .expect("answers")
    }

    /// A GET with the console's cookies; the whole answer.
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookies)
            .send()
            .await
            .expect("answers")
    }

    pub(crate) async fn page(&self, path: &str) -> String {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookies)
            .send()
            .await
            .expect("answers")
            .text()
            .await
            .expect("a page")
    }
}

#[tokio::test]
async fn the_console_translates_and_settles_person_matches() {
    let node = Node::start();
    let id_of = |v: Vec<serde_json::Value>| {
        v.last()
            .and_then(|v| v["id"].as_str().map(str::to_string))
            .expect("an id")
    };
    let testimony = id_of(node.json(&[
        "testimony",
        "add",
        "Задержали журналистов у акимата",
        "--lang",
        "ru",
        "--place",
        "Алматы",
    ]));
    let asel = id_of(node.json(&[
        "person",
        "report",
        "--name",
        "Әсел Нұрланқызы",
        "--status",
        "missing",
        "--source",
        "relative",
    ]));
    let initial = id_of(node.json(&[
        "person",
        "report",
        "--name",
        "A. Nurlanova",
        "--status",
        "injured",
        "--source",
        "witnessed",
    ]));
    let served = Served::start(&node, "");
    let console = Console::unlock(&served).await;

    let answer = console
        .post(
            "/console/translate",
            &[
                ("target", &testimony),
                ("text", "Journalists were detained outside the akimat"),
                ("lang", "en"),
            ],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let record = console.page(&format!("/r/{testimony}?lang=en")).await;
    let translations = record
        .split("Translations")
        .nth(1)
        .expect("the record lists its translations");
    assert!(
        translations.contains("Journalists were detained"),
        "{record}"
    );
    assert!(translations.contains("lang=\"en\""), "{record}");

    // The initial may be Asel: the console offers the match; the
    // documenter says it is her, and the registry has one entry fewer.
    assert_eq!(node.json(&["people", "list"]).len(), 2);
    let home = console.page("/console").await;
    assert!(
        home.contains(&format!("value=\"{asel}\""))
            && home.contains(&format!("value=\"{initial}\"")),
        "{home}"
    );
    let answer = console
        .post(
            "/console/match",
            &[("a", &initial), ("b", &asel), ("verdict", "same")],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(node.json(&["people", "list"]).len(), 1);
    // Bad input: a verdict about a testimony, an unknown verdict.
    let answer = console
        .post(
            "/console/match",
            &[("a", &testimony), ("b", &asel), ("verdict", "same")],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let answer = console
        .post(
            "/console/match",
            &[("a", &initial), ("b", &asel), ("verdict", "maybe")],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_timeline_filters_by_kind_language_day_and_place() {
    let node = Node::start();
    let id_of = |v: Vec<serde_json::Value>| {
        v.last()
            .and_then(|v| v["id"].as_str().map(str::to_string))
            .expect("an id")
    };
    let almaty = id_of(node.json(&[
        "testimony",
        "add",
        "Задержания у акимата",
        "--lang",
        "ru",
        "--place",
        "Алматы",
        "--observed",
        "2026-01-05T10:00:00Z",
    ]));
    let shymkent = id_of(node.json(&[
        "testimony",
        "add",
        "Шымкентте ереуіл",
        "--lang",
        "kk",
        "--place",
        "Шымкент",
        "--observed",
        "2026-01-06T10:00:00Z",
    ]));
    let person = id_of(node.json(&[
        "person",
        "report",
        "--name",
        "Ерлан Б.",
        "--status",
        "detained",
        "--source",
        "witnessed",
        "--place",
        "Алматы",
    ]));
    // One in Almaty's time, just after midnight there: the day before in
    // UTC, but the 5th as the witness wrote it.
    let night = id_of(node.json(&[
        "testimony",
        "add",
        "Ночью на площади стреляли",
        "--lang",
        "ru",
        "--observed",
        "2026-01-05 01:00+06:00",
    ]));
    let served = Served::start(&node, "[[peers]]\nurl = \"ws://127.0.0.1:9\"\n");
    let session = Session::open(&served, "/submit/person").await;
    let shows = |page: &str, id: &str| page.contains(&format!("href=\"/r/{id}\""));

    let (_, all) = session.get("/timeline").await;
    assert!(shows(&all, &almaty) && shows(&all, &shymkent) && shows(&all, &person));
    let (_, kind) = session.get("/timeline?kind=person").await;
    assert!(shows(&kind, &person) && !shows(&kind, &almaty) && !shows(&kind, &shymkent));
    // The records' language and the interface's are two parameters: one
    // filters, the other only translates.
    let (_, lang) = session.get("/timeline?language=kk").await;
    assert!(shows(&lang, &shymkent) && !shows(&lang, &almaty));
    assert!(
        !lang.contains("<html lang=\"kk\">"),
        "the interface changed"
    );
    assert!(lang.contains("<option value=\"kk\" selected>"), "{lang}");
    let (_, interface) = session.get("/timeline?lang=kk").await;
    assert!(interface.contains("<html lang=\"kk\">"));
    assert!(
        shows(&interface, &shymkent) && shows(&interface, &almaty) && shows(&interface, &person)
    );
    let (_, place) = session
        .get("/timeline?place=%D0%B0%D0%BB%D0%BC%D0%B0%D1%82%D1%8B")
        .await;
    assert!(shows(&place, &almaty) && shows(&place, &person) && !shows(&place, &shymkent));
    // The day a record happened on, as its witness wrote it; the day it
    // was signed for a record that does not say.
    let (_, day) = session.get("/timeline?day=2026-01-05").await;
    assert!(shows(&day, &almaty) && !shows(&day, &shymkent) && !shows(&day, &person));
    assert!(shows(&day, &night), "{day}");
    assert!(
        day.contains("2026-01-05 01:00 (UTC+06:00)"),
        "shown as written: {day}"
    );
    let shown = node.ok(&["show", &night]);
    assert!(shown.contains("2026-01-05 01:00:00+06:00"), "{shown}");
    let (_, before) = session.get("/timeline?day=2026-01-04").await;
    assert!(!shows(&before, &night), "{before}");
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let (_, day) = session.get(&format!("/timeline?day={today}")).await;
    assert!(shows(&day, &person) && !shows(&day, &almaty), "{day}");
    let (_, before) = session.get("/timeline?day=2020-01-01").await;
    assert!(!shows(&before, &almaty));
    // Ordered by when it happened: the person (today) first, then
    // Shymkent (6 January), then Almaty (5 January).
    let (_, all) = session.get("/timeline").await;
    let at = |id: &str| all.find(&format!("href=\"/r/{id}\"")).expect("listed");
    assert!(
        at(&person) < at(&shymkent) && at(&shymkent) < at(&almaty),
        "{all}"
    );
    let (status, _) = session.get("/timeline?day=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The status page: the peer's address only for this machine.
    // The status page: the peer's address only for this machine's
    // operator, who brings the console's access key.
    let (_, status) = session.get("/node").await;
    assert!(!status.contains("ws://127.0.0.1:9"), "{status}");
    let console = Console::open(&served).await;
    let status = console.page("/node").await;
    assert!(status.contains("ws://127.0.0.1:9"), "{status}");
}

#[tokio::test]
async fn a_public_record_can_send_its_untouched_originals_sealed() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let session = Session::open(&served, "/submit/testimony").await;
    let photo = std::fs::read(tour_photo()).expect("the tour photo");
    let mut fields = testimony(
        &session.token,
        "Фото с площади, оригинал для проверки",
        "public",
    );
    fields.push(("originals", "on"));
    let (status, page) = session
        .post(
            "/submit/testimony",
            form(&fields, &[("square.jpg", &photo)]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("1 untouched original"), "{page}");

    // The public record has the stripped photo; the original, with its
    // serial and position, is only inside a seal for the documenter.
    let listed = node.json(&["list"]);
    assert_eq!(listed.len(), 1);
    for (path, bytes) in crate::sealed::files(&node.data()) {
        assert!(
            !contains(&bytes, b"SN-4417-0042"),
            "{} holds the original in the clear",
            path.display()
        );
    }
    let sealed = node.json(&["sealed", "list"]);
    let original = sealed
        .iter()
        .find(|v| v["kind"] == "file" && v["file"]["stripped"].is_string())
        .unwrap_or_else(|| panic!("a sealed original: {sealed:?}"));
    assert_eq!(original["file"]["of"], listed[0]["id"]);
    let out = node.dir.path().join("original.jpg");
    let wrap = original["wrap"].as_str().expect("wrap");
    node.ok(&["sealed", "save", wrap, "-o", out.to_str().expect("path")]);
    assert_eq!(
        std::fs::read(&out).expect("saved"),
        photo,
        "the original, whole"
    );

    // The documenter sees it in the console, beside the public record it
    // belongs to, said for what it is, and can view and save it there.
    let console = Console::unlock(&served).await;
    let home = console.page("/console").await;
    let record = listed[0]["id"].as_str().expect("id");
    assert!(home.contains(&format!("href=\"/r/{record}\"")), "{home}");
    let url = format!("/console/file/{wrap}");
    assert!(home.contains(&format!("<img src=\"{url}\"")), "{home}");
    assert!(home.contains(&format!("href=\"{url}\" download")), "{home}");
    assert!(home.contains("Untouched original"), "{home}");
    let answer = console.get(&url).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers()[CONTENT_TYPE].to_str().expect("type"),
        "image/jpeg"
    );
    assert_eq!(answer.bytes().await.expect("bytes").as_ref(), &photo[..]);
}

#[tokio::test]
async fn the_form_reads_the_time_in_the_zone_it_offers() {
    let node = Node::start();
    // The node's zone is offered first, whatever the server's own TZ.
    let served = Served::start(&node, "timezone = \"Asia/Almaty\"\n");
    let session = Session::open(&served, "/submit/testimony").await;
    let (_, page) = session.get("/submit/testimony").await;
    assert!(
        page.contains("<option value=\"+05:00\" selected>")
            || page.contains("<option value=\"+06:00\" selected>"),
        "{page}"
    );
    let mut fields = testimony(&session.token, "В 15:00 по Алматы", "public");
    fields.retain(|(name, _)| *name != "observed");
    fields.push(("observed", "2022-01-05T15:00"));
    fields.push(("zone", "+06:00"));
    let (status, page) = session.post("/submit/testimony", form(&fields, &[])).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let listed = node.json(&["list"]);
    let shown = node.json(&["show", listed[0]["id"].as_str().expect("id")]);
    let observed = &shown[0]["record"]["observed"];
    assert_eq!(observed["start"], 1_641_373_200, "{shown:?}");
    assert_eq!(observed["offset"], "+06:00");
    let text = node.ok(&["show", listed[0]["id"].as_str().expect("id")]);
    assert!(text.contains("2022-01-05 15:00:00+06:00"), "{text}");
}
