//! The decision page (`nesy serve --ui`, at `/ui/`) and the self-contained
//! explanation page (`nesy explain --format html`): static files compiled
//! into the binary, drawing what the API answers.
//!
//! ```
//! let page = nesy_server::ui::explanation_page("why approve(c1)", r#"{"fact": "approve(c1)", "holds": true, "kind": "fact", "premises": []}"#);
//! assert!(page.starts_with("<!doctype html>"));
//! assert!(page.contains("NesyExplain.render"));
//! ```

use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

const INDEX_HTML: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
/// The renderer of explanation JSON (also inlined by [`explanation_page`]).
pub const EXPLAIN_JS: &str = include_str!("../ui/explain.js");
/// The page's style (also inlined by [`explanation_page`]).
pub const STYLE_CSS: &str = include_str!("../ui/style.css");

/// One file of the page, by the path after `/ui/`.
pub(crate) async fn asset(path: Option<axum::extract::Path<String>>) -> Response {
    let name = path.map(|p| p.0).unwrap_or_default();
    let (body, kind) = match name.as_str() {
        "" | "index.html" => (INDEX_HTML, "text/html; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "explain.js" => (EXPLAIN_JS, "text/javascript; charset=utf-8"),
        "style.css" => (STYLE_CSS, "text/css; charset=utf-8"),
        _ => return crate::handlers::not_found().await,
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            // The page talks to its own origin only.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; style-src 'self'; script-src 'self'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// `/ui` goes to `/ui/` (the page's relative paths need the slash).
pub(crate) async fn to_index() -> Redirect {
    Redirect::permanent("ui/")
}

/// A whole HTML page drawing `explanation_json` (one explanation object or
/// an array of them) as a collapsible tree, with the script and style
/// inlined: one file that opens anywhere.
pub fn explanation_page(title: &str, explanation_json: &str) -> String {
    // Inside <script>, `</` could end the element: JSON allows `<\/`.
    let data = explanation_json.replace("</", "<\\/");
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>\n{STYLE_CSS}</style>\n</head>\n<body>\n<header><h1>{title}</h1></header>\n<main><div id=\"explanations\"></div></main>\n<script>\n{EXPLAIN_JS}</script>\n<script id=\"data\" type=\"application/json\">{data}</script>\n<script>\nNesyExplain.render(document.getElementById(\"explanations\"), JSON.parse(document.getElementById(\"data\").textContent));\n</script>\n</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_keeps_its_data_inside_its_script_and_escapes_the_title() {
        let hostile = r#"{"fact": "x(\"</script><script>alert(1)</script>\")", "holds": true, "kind": "fact", "premises": []}"#;
        let page = explanation_page("why <b>x</b> & y", hostile);
        assert!(page.contains("<title>why &lt;b&gt;x&lt;/b&gt; &amp; y</title>"));
        assert!(!page.contains("</script><script>alert"));
        // The renderer, the data and the call: three script elements.
        assert_eq!(page.matches("</script>").count(), 3);
        // What the page parses is the JSON given.
        let start =
            page.find("type=\"application/json\">").unwrap() + "type=\"application/json\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let data: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(data["fact"], "x(\"</script><script>alert(1)</script>\")");
    }
}
