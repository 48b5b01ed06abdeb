//! Config providers (KIP-297): `${file:/path:key}`, `${env:VAR}` and
//! `${dir:/path:file}` placeholders, resolved when a connector starts and
//! never shown resolved over REST.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

use super::properties::parse_properties_map;

/// A source of secrets and other external values.
pub trait ConfigProvider: Send + Sync + std::fmt::Debug {
    /// The value of `key` at `path`, or `None` when it does not exist.
    fn get(&self, path: &str, key: &str) -> Option<String>;
}

/// `org.apache.kafka.common.config.provider.FileConfigProvider`: `path` is a
/// properties file, `key` a key in it.
#[derive(Debug, Default)]
pub struct FileConfigProvider;

impl ConfigProvider for FileConfigProvider {
    fn get(&self, path: &str, key: &str) -> Option<String> {
        let text = std::fs::read_to_string(path).ok()?;
        parse_properties_map(&text).ok()?.remove(key)
    }
}

/// `org.apache.kafka.common.config.provider.EnvVarConfigProvider`: `key` is
/// an environment variable; `path` must be empty.
#[derive(Debug, Default)]
pub struct EnvVarConfigProvider;

impl ConfigProvider for EnvVarConfigProvider {
    fn get(&self, path: &str, key: &str) -> Option<String> {
        if !path.is_empty() {
            return None;
        }
        std::env::var(key).ok()
    }
}

/// `org.apache.kafka.common.config.provider.DirectoryConfigProvider`: `path`
/// is a directory, `key` a file in it whose content is the value.
#[derive(Debug, Default)]
pub struct DirectoryConfigProvider;

impl ConfigProvider for DirectoryConfigProvider {
    fn get(&self, path: &str, key: &str) -> Option<String> {
        if key.contains('/') || key.contains("..") {
            return None;
        }
        std::fs::read_to_string(std::path::Path::new(path).join(key)).ok()
    }
}

/// The provider for a class name from `config.providers.<name>.class`.
pub fn provider_for_class(class: &str) -> Option<Box<dyn ConfigProvider>> {
    match class.trim() {
        "org.apache.kafka.common.config.provider.FileConfigProvider" | "FileConfigProvider" => {
            Some(Box::new(FileConfigProvider))
        }
        "org.apache.kafka.common.config.provider.EnvVarConfigProvider" | "EnvVarConfigProvider" => {
            Some(Box::new(EnvVarConfigProvider))
        }
        "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
        | "DirectoryConfigProvider" => Some(Box::new(DirectoryConfigProvider)),
        _ => None,
    }
}

/// The named providers configured on a worker.
#[derive(Debug, Default)]
pub struct ConfigProviders {
    providers: HashMap<String, Box<dyn ConfigProvider>>,
}

impl ConfigProviders {
    /// Builds the providers from worker properties (`config.providers` and
    /// `config.providers.<name>.class`). Unknown classes are an error.
    pub fn from_worker_props(props: &HashMap<String, String>) -> Result<Self, String> {
        let mut providers = HashMap::new();
        let names = props
            .get("config.providers")
            .map(|s| super::def::split_list(s))
            .unwrap_or_default();
        for name in names {
            let class_key = format!("config.providers.{name}.class");
            let class = props
                .get(&class_key)
                .ok_or_else(|| format!("missing {class_key} for config provider {name}"))?;
            let provider = provider_for_class(class)
                .ok_or_else(|| format!("unknown config provider class {class} for {name}"))?;
            providers.insert(name, provider);
        }
        Ok(ConfigProviders { providers })
    }

    /// Registers a provider under a name.
    pub fn with(mut self, name: &str, provider: Box<dyn ConfigProvider>) -> Self {
        self.providers.insert(name.to_string(), provider);
        self
    }

    /// Replaces every `${provider:[path:]key}` placeholder whose provider is
    /// configured and knows the key. Others stay as written, as in Kafka.
    pub fn resolve(&self, value: &str) -> String {
        if !value.contains("${") || self.providers.is_empty() {
            return value.to_string();
        }
        placeholder()
            .replace_all(value, |caps: &regex::Captures<'_>| {
                let whole = caps.get(0).map_or("", |m| m.as_str()).to_string();
                let provider = &caps[1];
                let path = caps.get(3).map_or("", |m| m.as_str());
                let key = &caps[4];
                self.providers
                    .get(provider)
                    .and_then(|p| p.get(path, key))
                    .unwrap_or(whole)
            })
            .into_owned()
    }

    /// Resolves every value of a config.
    pub fn resolve_all(&self, config: &HashMap<String, String>) -> HashMap<String, String> {
        config
            .iter()
            .map(|(k, v)| (k.clone(), self.resolve(v)))
            .collect()
    }
}

fn placeholder() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // The pattern of Kafka's ConfigTransformer.DEFAULT_PATTERN.
    RE.get_or_init(|| {
        Regex::new(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}").expect("placeholder regex is valid")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_file_and_env_placeholders_and_leaves_unknown_ones() {
        let dir = std::env::temp_dir().join(format!("rampart-prov-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secrets.properties");
        std::fs::write(&file, "es.password=s3cret\n").unwrap();
        std::env::set_var("RAMPART_TEST_TOKEN", "tok-1");
        let props: HashMap<String, String> = [
            ("config.providers", "file,env"),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
            (
                "config.providers.env.class",
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let providers = ConfigProviders::from_worker_props(&props).unwrap();
        let path = file.display();
        assert_eq!(
            providers.resolve(&format!("${{file:{path}:es.password}}")),
            "s3cret"
        );
        assert_eq!(
            providers.resolve("Splunk ${env:RAMPART_TEST_TOKEN}"),
            "Splunk tok-1"
        );
        assert_eq!(providers.resolve("${vault:a:b}"), "${vault:a:b}");
        assert_eq!(
            providers.resolve(&format!("${{file:{path}:missing}}")),
            format!("${{file:{path}:missing}}")
        );
    }

    #[test]
    fn unknown_provider_class_is_an_error() {
        let props: HashMap<String, String> = [
            ("config.providers", "x"),
            ("config.providers.x.class", "com.example.Nope"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(ConfigProviders::from_worker_props(&props).is_err());
    }
}
