//! `rampart health`: the container healthcheck. Images built `FROM scratch`
//! have no curl, so the binary asks its own REST API.

use std::time::Duration;

/// Where the probe asks when no URL is given: the first of
/// `CONNECT_LISTENERS` (the image sets it), else Java's default listener.
/// A wildcard host is asked on loopback, where the probe runs.
pub fn default_url(listeners: Option<&str>) -> String {
    let first = listeners
        .and_then(|l| l.split(',').map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("http://127.0.0.1:8083");
    let Some((scheme, rest)) = first.split_once("://") else {
        return first.to_string();
    };
    let port = rest.rsplit_once(':').map(|(_, p)| p).unwrap_or("8083");
    let host = rest.rsplit_once(':').map(|(h, _)| h).unwrap_or("");
    let host = match host {
        "" | "0.0.0.0" | "[::]" | "::" => "127.0.0.1",
        h => h,
    };
    format!(
        "{}://{host}:{}",
        scheme.to_ascii_lowercase(),
        port.trim_end_matches('/')
    )
}

/// Asks `GET {url}/health`. Ok when the worker answers 200; otherwise the
/// reason, which Docker shows in `docker inspect` under the health log.
pub async fn probe(url: &str, insecure: bool, user: Option<&str>) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .danger_accept_invalid_certs(insecure)
        .build()
        .map_err(|e| format!("cannot create the HTTP client: {e}"))?;
    let mut request = client.get(format!("{}/health", url.trim_end_matches('/')));
    if let Some(user) = user {
        let (name, password) = user.split_once(':').unwrap_or((user, ""));
        request = request.basic_auth(name, Some(password));
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("{url} does not answer: {e}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{url}/health answered {status}: {body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::default_url;

    #[test]
    fn the_probe_asks_the_first_listener_on_loopback() {
        assert_eq!(default_url(None), "http://127.0.0.1:8083");
        assert_eq!(
            default_url(Some("http://0.0.0.0:8083")),
            "http://127.0.0.1:8083"
        );
        assert_eq!(
            default_url(Some("HTTPS://:8443, http://0.0.0.0:8083")),
            "https://127.0.0.1:8443"
        );
        assert_eq!(
            default_url(Some("http://connect-1:9000/")),
            "http://connect-1:9000"
        );
    }
}
