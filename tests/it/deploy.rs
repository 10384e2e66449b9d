//! The deployment files (Dockerfile, .dockerignore, docker-compose.yml and
//! deploy/kubernetes/) read against the service they deploy: ports, probe
//! paths, commands, shutdown timing and configuration must be those of the
//! real binary, not what someone remembered of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use gtf_bff::cli::{Cli, Command};
use gtf_bff::config::{Env, ServiceConfig};
use gtf_bff::demo::DemoConfig;
use gtf_bff::sim::SimConfig;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::support::app::{CALLBACK_AUTH, JWT_SECRET, data_key, spawn_app};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of a (possibly multi-document) YAML text; empty ones skipped.
fn yaml_documents(text: &str, origin: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{origin}: {e}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// Every Kubernetes object under deploy/kubernetes/.
fn manifests() -> Vec<(PathBuf, Value)> {
    let dir = root().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            yaml_documents(&text, &path.display().to_string())
                .into_iter()
                .map(move |doc| (path.clone(), doc))
        })
        .collect()
}

/// The one object of this kind.
fn object(kind: &str) -> Value {
    let found: Vec<Value> = manifests()
        .into_iter()
        .map(|(_, doc)| doc)
        .filter(|doc| doc["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind} in deploy/kubernetes/");
    found.into_iter().next().unwrap()
}

/// The single container of a Deployment's or Job's pod template.
fn container(workload: &Value) -> &Value {
    let containers = workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "{containers:?}");
    &containers[0]
}

fn as_u64(value: &Value, what: &str) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: expected a whole number, got {value}"))
}

/// The variables `serve` requires, with valid values.
fn required_vars() -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", "postgres://gtf@db.example:5432/gtf".into()),
        ("GTF_TOKEN_BASE_URL", "https://token.example".into()),
        ("GTF_API_BASE_URL", "https://api.example".into()),
        ("GTF_CLIENT_ID", "client".into()),
        ("GTF_PASS_KEY", "pass-key".into()),
        ("GTF_ONBOARDING_PARTNER", "P-BE-COE_KTP_SCAN".into()),
        ("GTF_PARTNER_USER_ID_TYPE", "MY_USER_ID".into()),
        ("AUTH_JWT_SECRET", JWT_SECRET.into()),
        ("CALLBACK_AUTH", CALLBACK_AUTH.into()),
        ("BFF_DATA_KEY", data_key()),
    ]
}

/// The service's configuration when nothing optional is set: its defaults.
fn defaults() -> ServiceConfig {
    ServiceConfig::from_env(&Env::from_pairs(required_vars())).expect("a valid configuration")
}

fn string_map(value: &Value, what: &str) -> BTreeMap<String, String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("{what}: expected a mapping"))
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// A valid value for a variable of the Secret, as an operator would set it.
fn real_secret(var: &str) -> String {
    match var {
        "DATABASE_URL" => "postgres://gtf:pw@db.example:5432/gtf_bff".into(),
        "GTF_CLIENT_ID" => "client".into(),
        "GTF_PASS_KEY" => "pass-key".into(),
        "CALLBACK_AUTH" => CALLBACK_AUTH.into(),
        "BFF_DATA_KEY" => data_key(),
        "BFF_DATA_KEY_PREVIOUS" => String::new(),
        "AUTH_JWT_SECRET" => JWT_SECRET.into(),
        other => panic!("give this test a valid value for the Secret's {other}"),
    }
}

/// What the pods are configured with: the ConfigMap, and the Secret with
/// real values in place of the example's placeholders.
fn kubernetes_config() -> ServiceConfig {
    let config = string_map(&object("ConfigMap")["data"], "ConfigMap data");
    let secret = string_map(&object("Secret")["stringData"], "Secret stringData");
    let vars = config
        .into_iter()
        .chain(secret.keys().map(|k| (k.clone(), real_secret(k))));
    ServiceConfig::from_env(&Env::from_pairs(vars))
        .unwrap_or_else(|e| panic!("ConfigMap + Secret: {e}"))
}

/// A port of a probe or Service (a number or the name of a container port),
/// as a number of the container.
fn resolve_port(port: &Value, container: &Value) -> u64 {
    match port {
        Value::String(name) => container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name.as_str())
            .map(|p| as_u64(&p["containerPort"], "containerPort"))
            .unwrap_or_else(|| panic!("no container port named {name}")),
        number => as_u64(number, "port"),
    }
}

#[test]
fn every_manifest_parses_and_names_itself() {
    let manifests = manifests();
    let mut kinds: Vec<String> = Vec::new();
    for (path, doc) in &manifests {
        for field in ["apiVersion", "kind"] {
            assert!(doc[field].is_string(), "{}: no {field}", path.display());
        }
        assert!(
            doc["metadata"]["name"].is_string(),
            "{}: no metadata.name",
            path.display()
        );
        kinds.push(doc["kind"].as_str().unwrap().to_owned());
    }
    for kind in [
        "ConfigMap",
        "Secret",
        "Job",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
}

#[test]
fn the_deployment_listens_where_the_service_does() {
    let deployment = object("Deployment");
    assert!(as_u64(&deployment["spec"]["replicas"], "replicas") >= 2);
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (key, value) in string_map(&deployment["spec"]["selector"]["matchLabels"], "selector") {
        assert_eq!(pod_labels[&key], value.as_str(), "selector {key}");
    }

    let c = container(&deployment);
    assert!(c["command"].is_null(), "the image's ENTRYPOINT is gtf-bff");
    assert_eq!(c["args"], serde_json::json!(["serve"]));
    let default_port = u64::from(defaults().listen_addr.port());
    assert_eq!(resolve_port(&Value::from("http"), c), default_port);

    // The pods' own configuration (the ConfigMap) listens there too.
    let configured = kubernetes_config().listen_addr;
    assert_eq!(u64::from(configured.port()), default_port);
    assert!(
        configured.ip().is_unspecified(),
        "{configured} is unreachable from the kubelet"
    );

    // So do the metrics, on a port of their own that the Service does not
    // route.
    let metrics_port = u64::from(defaults().server.metrics_addr.port());
    assert_eq!(resolve_port(&Value::from("metrics"), c), metrics_port);
    let metrics = kubernetes_config().server.metrics_addr;
    assert_eq!(u64::from(metrics.port()), metrics_port);
    assert!(
        metrics.ip().is_unspecified(),
        "{metrics} is unreachable from the scraper"
    );

    let service = object("Service");
    let ports = service["spec"]["ports"].as_array().expect("Service ports");
    assert_eq!(ports.len(), 1, "{ports:?}");
    assert_eq!(resolve_port(&ports[0]["targetPort"], c), default_port);
    for (key, value) in string_map(&service["spec"]["selector"], "Service selector") {
        assert_eq!(pod_labels[&key], value.as_str(), "Service selector {key}");
    }
    for (_, doc) in manifests() {
        if doc["kind"] == "PodDisruptionBudget" {
            let selector = string_map(&doc["spec"]["selector"]["matchLabels"], "PDB selector");
            for (key, value) in selector {
                assert_eq!(pod_labels[&key], value.as_str(), "PDB selector {key}");
            }
        }
    }
}

#[tokio::test]
async fn the_probes_ask_paths_the_service_answers() {
    let deployment = object("Deployment");
    let c = container(&deployment);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");

    let port = u64::from(defaults().listen_addr.port());
    let app = spawn_app().await;
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
        let get = &c[probe]["httpGet"];
        if probe == "startupProbe" && get.is_null() {
            continue;
        }
        assert_eq!(resolve_port(&get["port"], c), port, "{probe} port");
        let path = get["path"].as_str().expect("probe path");
        let status = app.call(Method::GET, path, None).await.status;
        assert_eq!(status, StatusCode::OK, "{probe} {path}");
    }
}

#[tokio::test]
async fn the_scrape_annotations_name_the_port_that_serves_metrics() {
    let deployment = object("Deployment");
    let annotations = string_map(
        &deployment["spec"]["template"]["metadata"]["annotations"],
        "pod annotations",
    );
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    let c = container(&deployment);
    let port: u64 = annotations["prometheus.io/port"].parse().unwrap();
    assert_eq!(port, resolve_port(&Value::from("metrics"), c));
    let path = &annotations["prometheus.io/path"];

    let app = spawn_app().await;
    let scraped = app.http.get(format!("{}{path}", app.metrics_url));
    assert_eq!(scraped.send().await.unwrap().status(), StatusCode::OK);
    let public = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND, "{path} on the API");
}

#[test]
fn pods_may_take_longer_to_stop_than_the_drain() {
    let deployment = object("Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let grace = Duration::from_secs(as_u64(
        &pod["terminationGracePeriodSeconds"],
        "terminationGracePeriodSeconds",
    ));
    // A preStop pause comes before SIGTERM, within the same grace period.
    let pre_stop = match container(&deployment)["lifecycle"]["preStop"]["exec"]["command"]
        .as_array()
        .map(Vec::as_slice)
    {
        None => Duration::ZERO,
        Some([sleep, secs]) if sleep == "sleep" => {
            Duration::from_secs(secs.as_str().unwrap().parse().unwrap())
        }
        Some(other) => panic!("unexpected preStop command {other:?}"),
    };
    let drain = defaults().shutdown_grace;
    assert!(
        grace > pre_stop + drain,
        "{grace:?} <= {pre_stop:?} + {drain:?}"
    );

    let configured = kubernetes_config().shutdown_grace;
    assert!(
        grace > pre_stop + configured,
        "{grace:?} <= {pre_stop:?} + {configured:?}"
    );
}

#[test]
fn pods_run_as_the_images_non_root_user() {
    let image_uid: u64 = dockerfile_user()
        .parse()
        .expect("a numeric USER, which runAsNonRoot can check");
    for workload in [object("Deployment"), object("Job")] {
        let pod = &workload["spec"]["template"]["spec"]["securityContext"];
        let own = &container(&workload)["securityContext"];
        let setting = |key: &str| {
            if own[key].is_null() {
                pod[key].clone()
            } else {
                own[key].clone()
            }
        };
        assert_eq!(setting("runAsNonRoot"), true, "{}", workload["kind"]);
        assert_eq!(setting("runAsUser"), image_uid, "{}", workload["kind"]);
        assert_eq!(own["readOnlyRootFilesystem"], true);
        assert_eq!(own["allowPrivilegeEscalation"], false);
        assert_eq!(own["capabilities"]["drop"], serde_json::json!(["ALL"]));
    }
}

#[test]
fn the_migration_job_migrates_with_the_deployments_image_and_configuration() {
    let job = object("Job");
    let deployment = object("Deployment");
    let (migrate, serve) = (container(&job), container(&deployment));
    assert!(
        migrate["command"].is_null(),
        "the image's ENTRYPOINT is gtf-bff"
    );
    assert_eq!(migrate["args"], serde_json::json!(["migrate"]));
    assert_eq!(migrate["image"], serve["image"]);
    assert_eq!(migrate["envFrom"], serve["envFrom"]);
    assert!(as_u64(&job["spec"]["backoffLimit"], "backoffLimit") >= 1);
    as_u64(
        &job["spec"]["ttlSecondsAfterFinished"],
        "ttlSecondsAfterFinished",
    );
    let restart = &job["spec"]["template"]["spec"]["restartPolicy"];
    assert!(restart == "Never" || restart == "OnFailure", "{restart}");
}

#[test]
fn the_autoscaler_scales_the_deployment() {
    let hpa = object("HorizontalPodAutoscaler");
    let deployment = object("Deployment");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(target["kind"], "Deployment");
    assert_eq!(target["name"], deployment["metadata"]["name"]);
    let min = as_u64(&hpa["spec"]["minReplicas"], "minReplicas");
    let max = as_u64(&hpa["spec"]["maxReplicas"], "maxReplicas");
    assert!(min >= 2 && max >= min, "{min}..{max}");
}

/// Together, the ConfigMap and the Secret are a complete and valid
/// configuration once real secrets are filled in, and the example's
/// placeholders cannot pass for real ones.
#[test]
fn the_configmap_and_secret_configure_the_service() {
    let deployment = object("Deployment");
    let env_from = container(&deployment)["envFrom"]
        .as_array()
        .expect("envFrom")
        .clone();
    let config_map = object("ConfigMap");
    let secret = object("Secret");
    assert!(
        env_from
            .iter()
            .any(|s| s["configMapRef"]["name"] == config_map["metadata"]["name"])
    );
    assert!(
        env_from
            .iter()
            .any(|s| s["secretRef"]["name"] == secret["metadata"]["name"])
    );

    let config = string_map(&config_map["data"], "ConfigMap data");
    let placeholders = string_map(&secret["stringData"], "Secret stringData");
    for var in [
        "DATABASE_URL",
        "GTF_PASS_KEY",
        "CALLBACK_AUTH",
        "BFF_DATA_KEY",
        "AUTH_JWT_SECRET",
    ] {
        assert!(
            !config.contains_key(var),
            "{var} is a secret, not ConfigMap data"
        );
    }

    kubernetes_config();
    let as_shipped = config.into_iter().chain(placeholders);
    assert!(ServiceConfig::from_env(&Env::from_pairs(as_shipped)).is_err());
}

/// The Dockerfile's instructions, continuation lines joined and comments
/// dropped, as (INSTRUCTION, arguments).
fn dockerfile() -> Vec<(String, String)> {
    let text = read("Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (current.is_empty() && line.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                let (instruction, args) = current.split_once(' ').unwrap_or((&current, ""));
                instructions.push((instruction.to_ascii_uppercase(), args.trim().to_owned()));
                current.clear();
            }
        }
    }
    instructions
}

/// The instructions of the last stage: what the image is.
fn runtime_stage() -> Vec<(String, String)> {
    let all = dockerfile();
    let from = all.iter().rposition(|(i, _)| i == "FROM").expect("FROM");
    all[from..].to_vec()
}

fn dockerfile_user() -> String {
    let user = runtime_stage()
        .into_iter()
        .rev()
        .find(|(i, _)| i == "USER")
        .map(|(_, args)| args)
        .expect("a USER in the runtime stage");
    let name = user.split(':').next().unwrap().to_owned();
    assert!(name != "root" && name != "0", "USER {user}");
    name
}

fn exec_form(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("not exec form: {args}: {e}"))
}

#[test]
fn the_image_runs_the_binary_as_a_non_root_user_with_a_healthcheck() {
    let stage = runtime_stage();
    let last = |instruction: &str| {
        stage
            .iter()
            .rev()
            .find(|(i, _)| i == instruction)
            .map(|(_, args)| args.clone())
            .unwrap_or_else(|| panic!("no {instruction} in the runtime stage"))
    };
    dockerfile_user();
    assert_eq!(exec_form(&last("ENTRYPOINT")), ["gtf-bff"]);
    assert_eq!(exec_form(&last("CMD")), ["serve"]);

    let healthcheck = last("HEALTHCHECK");
    let (_, command) = healthcheck.split_once("CMD ").expect("HEALTHCHECK ... CMD");
    let command = exec_form(command);
    assert_eq!(command, ["gtf-bff", "healthcheck"]);
    // Without a URL it asks /readyz on BFF_LISTEN_ADDR's port, so changing
    // the port cannot break it.
    let Some(Command::Healthcheck { url }) = Cli::try_parse_from(&command).unwrap().command else {
        panic!("{command:?} is not the healthcheck command");
    };
    assert_eq!(url, None);

    let exposed: Vec<u16> = last("EXPOSE")
        .split_whitespace()
        .map(|p| p.trim_end_matches("/tcp").parse().unwrap())
        .collect();
    for port in [
        defaults().listen_addr.port(),
        defaults().server.metrics_addr.port(),
    ] {
        assert!(exposed.contains(&port), "{port} not in {exposed:?}");
    }

    // Only the binary goes into the image.
    for (_, args) in stage.iter().filter(|(i, _)| i == "COPY" || i == "ADD") {
        assert!(args.starts_with("--from="), "{args}");
        assert!(args.ends_with(" /usr/local/bin/gtf-bff"), "{args}");
    }
    let all = dockerfile();
    assert!(
        all.iter()
            .any(|(i, args)| i == "ENV" && args.contains("SQLX_OFFLINE=true")),
        "builds must use the committed .sqlx/ data"
    );
    assert!(
        all.iter()
            .any(|(i, args)| i == "RUN" && args.contains("cargo build --release --locked")),
        "builds must use Cargo.lock"
    );
}

/// Does a root-level .dockerignore pattern (`*` within a name) match `name`?
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, rest)) => name.strip_prefix(prefix).is_some_and(|tail| {
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
        }),
    }
}

#[test]
fn the_build_context_has_the_sources_and_no_secrets() {
    let text = read(".dockerignore");
    let patterns: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| l.trim_start_matches("./").trim_end_matches('/'))
        .collect();
    let ignored = |name: &str| patterns.iter().any(|p| glob(p, name));
    for name in [".env", "target", ".git"] {
        assert!(ignored(name), "{name} must stay out of the build context");
    }
    for name in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo",
        ".sqlx",
        "migrations",
        "src",
    ] {
        assert!(!ignored(name), "{name} is needed to build");
    }
}

/// `${VAR:-default}`, `${VAR-default}` and `${VAR}` resolved as Compose does
/// when VAR is unset: the out-of-the-box configuration.
fn without_dotenv(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing }") + start;
        let inner = &rest[start + 2..end];
        let name_len = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        let operator = &inner[name_len..];
        if let Some(default) = operator.strip_prefix(":-").or(operator.strip_prefix('-')) {
            out.push_str(default);
        } else {
            assert!(
                operator.is_empty(),
                "unsupported interpolation ${{{inner}}}"
            );
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

struct ComposeService {
    doc: Value,
    env: BTreeMap<String, String>,
}

impl ComposeService {
    fn command(&self) -> Vec<String> {
        match &self.doc["command"] {
            Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
            list => serde_json::from_value(list.clone()).expect("command"),
        }
    }

    fn container_ports(&self) -> Vec<u16> {
        self.doc["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                p.as_str()
                    .unwrap()
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect()
    }
}

fn compose() -> BTreeMap<String, ComposeService> {
    let docs = yaml_documents(&read("docker-compose.yml"), "docker-compose.yml");
    assert_eq!(docs.len(), 1);
    docs[0]["services"]
        .as_object()
        .expect("services")
        .iter()
        .map(|(name, doc)| {
            let env = string_map(&doc["environment"], name)
                .into_iter()
                .map(|(k, v)| (k, without_dotenv(&v)))
                .collect();
            (
                name.clone(),
                ComposeService {
                    doc: doc.clone(),
                    env,
                },
            )
        })
        .collect()
}

#[test]
fn compose_runs_the_service_the_simulator_and_postgres_out_of_the_box() {
    let services = compose();
    let (postgres, sim, bff) = (
        &services["postgres"],
        &services["sim"],
        &services["gtf-bff"],
    );
    assert!(postgres.doc["healthcheck"]["test"].is_array());
    assert_eq!(
        bff.doc["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
    assert_eq!(bff.command(), ["serve"]);
    assert_eq!(sim.command(), ["sim"]);

    // Without any .env, the defaults are a working configuration...
    let service = ServiceConfig::from_env(&Env::from_pairs(bff.env.clone()))
        .unwrap_or_else(|e| panic!("gtf-bff: {e}"));
    let simulator = SimConfig::from_env(&Env::from_pairs(sim.env.clone()))
        .unwrap_or_else(|e| panic!("sim: {e}"));
    assert_eq!(
        bff.container_ports(),
        [
            service.listen_addr.port(),
            service.server.metrics_addr.port()
        ]
    );
    assert!(service.server.metrics_addr.ip().is_unspecified());
    // The metrics are published on the host's loopback only.
    let published: Vec<&str> = bff.doc["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        published[1].starts_with("127.0.0.1:"),
        "{published:?}: metrics open to the network"
    );
    assert_eq!(sim.container_ports(), [simulator.listen_addr.port()]);

    // ...in which the containers find each other,
    let database = Url::parse(service.database_url.expose_secret()).unwrap();
    assert_eq!(database.host_str(), Some("postgres"));
    assert_eq!(database.path(), format!("/{}", postgres.env["POSTGRES_DB"]));
    assert_eq!(database.username(), postgres.env["POSTGRES_USER"]);
    assert_eq!(
        database.password(),
        Some(postgres.env["POSTGRES_PASSWORD"].as_str())
    );
    let sim_url = format!("http://sim:{}", simulator.listen_addr.port());
    assert_eq!(service.gtf.token_base_url.as_str(), sim_url);
    assert_eq!(service.gtf.api_base_url.as_str(), sim_url);
    let callback = simulator.callback_url.expect("SIM_CALLBACK_URL");
    assert_eq!(callback.host_str(), Some("gtf-bff"));
    assert_eq!(callback.port(), Some(service.listen_addr.port()));
    assert_eq!(callback.path(), "/coe/submissions-callback");

    // ...and accept each other's credentials.
    for var in ["GTF_CLIENT_ID", "GTF_PASS_KEY"] {
        assert_eq!(sim.env[var], bff.env[var], "{var}");
    }
    let accepted: Vec<&str> = bff.env["CALLBACK_AUTH"].split(',').map(str::trim).collect();
    assert!(accepted.contains(&sim.env["SIM_CALLBACK_AUTH"].as_str()));
}

/// The service knows every secret the repository publishes, so that it can
/// refuse them outside a demo: `.env.example` and the compose defaults.
#[test]
fn every_published_secret_is_one_the_service_refuses() {
    let known: Vec<(&str, &str)> = gtf_bff::config::PUBLISHED_DEMO_SECRETS.to_vec();
    let example = read(".env.example");
    let compose = compose();
    for var in [
        "AUTH_JWT_SECRET",
        "CALLBACK_AUTH",
        "BFF_DATA_KEY",
        "GTF_PASS_KEY",
        "WEBHOOK_SECRET",
    ] {
        let in_example = example
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{var}=")))
            .unwrap_or_else(|| panic!(".env.example sets {var}"));
        assert!(known.contains(&(var, in_example)), ".env.example's {var}");
        let in_compose = &compose["gtf-bff"].env[var];
        assert!(
            known.contains(&(var, in_compose.as_str())),
            "compose's {var}"
        );
    }
    assert_eq!(compose["gtf-bff"].env["BFF_DEMO"], "true");
    for service in compose.values() {
        for port in service.doc["ports"].as_array().into_iter().flatten() {
            let port = port.as_str().unwrap();
            assert!(
                port.starts_with("127.0.0.1:"),
                "{port} is published on every interface"
            );
        }
    }
}

#[test]
fn compose_serves_the_demo_web_app_to_a_browser_on_the_host() {
    let services = compose();
    let (demo, sim, bff) = (&services["demo"], &services["sim"], &services["gtf-bff"]);
    assert_eq!(demo.command(), ["demo"]);
    let config = DemoConfig::from_env(&Env::from_pairs(demo.env.clone()))
        .unwrap_or_else(|e| panic!("demo: {e}"));
    let service = ServiceConfig::from_env(&Env::from_pairs(bff.env.clone())).unwrap();
    let simulator = SimConfig::from_env(&Env::from_pairs(sim.env.clone())).unwrap();
    assert_eq!(demo.container_ports(), [config.listen_addr.port()]);
    assert!(config.listen_addr.ip().is_unspecified());
    let healthcheck = demo.doc["healthcheck"]["test"].to_string();
    assert!(
        healthcheck.contains(&format!("127.0.0.1:{}/", config.listen_addr.port())),
        "{healthcheck}"
    );

    // The page calls the service where compose publishes it on the host...
    let api = Url::parse(config.api_url.as_str()).unwrap();
    assert_eq!(api.host_str(), Some("localhost"));
    assert_eq!(api.port(), Some(service.listen_addr.port()));
    // ...from an origin the service and the simulator's storage admit...
    // `[host address:]host port:container port`: the host's port.
    let published = demo.doc["ports"][0]
        .as_str()
        .unwrap()
        .rsplit(':')
        .nth(1)
        .unwrap();
    for host in ["localhost", "127.0.0.1"] {
        let origin = format!("http://{host}:{published}");
        let admits = |origins: &[http::HeaderValue]| {
            origins.iter().any(|o| o.as_bytes() == origin.as_bytes())
        };
        assert!(admits(&service.cors_origins), "gtf-bff refuses {origin}");
        assert!(admits(&simulator.cors_origins), "the sim refuses {origin}");
    }
    // ...with tokens the service accepts.
    for var in ["AUTH_JWT_SECRET", "AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE"] {
        assert_eq!(demo.env[var], bff.env[var], "{var}");
    }
}
