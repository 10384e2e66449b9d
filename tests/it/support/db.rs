//! A fresh, empty PostgreSQL database per test, so tests run in parallel.
//! The server: `DATABASE_URL`'s when set; otherwise a container when a
//! Docker engine answers; otherwise a throwaway cluster from the local
//! PostgreSQL binaries. Each database is dropped when its test ends.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::OnceCell;
use url::Url;

use super::wait::wait_until;

/// The admin URL of the server every test database lives on.
static SERVER: OnceCell<Url> = OnceCell::const_new();

pub struct TestDb {
    pub url: String,
    name: String,
    admin: Url,
}

impl TestDb {
    pub async fn new() -> Self {
        let admin = SERVER.get_or_init(server).await.clone();
        let name = format!("gtf_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(admin.as_str())
            .await
            .expect("the test PostgreSQL server accepts connections");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("creating a test database");
        let mut url = admin.clone();
        url.set_path(&name);
        Self {
            url: url.to_string(),
            name,
            admin,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside async code: use a short-lived runtime of its own.
        let (admin, name) = (self.admin.to_string(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                Ok::<_, sqlx::Error>(())
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

async fn server() -> Url {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Url::parse(&url).expect("DATABASE_URL is a URL");
    }
    if docker_available() {
        return container().await;
    }
    local_cluster().await
}

fn docker_available() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A PostgreSQL container for the whole test run. Docker removes it when the
/// test process exits: its handle is kept for the life of the process, and
/// testcontainers stops it on exit signals.
async fn container() -> Url {
    use testcontainers::core::{IntoContainerPort, WaitFor};
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{ContainerAsync, GenericImage, ImageExt};

    static CONTAINER: OnceCell<ContainerAsync<GenericImage>> = OnceCell::const_new();
    let container = CONTAINER
        .get_or_init(|| async {
            GenericImage::new("postgres", "16-alpine")
                .with_exposed_port(5432.tcp())
                .with_wait_for(WaitFor::message_on_stderr(
                    "database system is ready to accept connections",
                ))
                .with_env_var("POSTGRES_HOST_AUTH_METHOD", "trust")
                .start()
                .await
                .expect("starting a PostgreSQL container")
        })
        .await;
    let port = container
        .get_host_port_ipv4(5432.tcp())
        .await
        .expect("the container's port");
    // The image logs "ready" once before its init restart; wait for real.
    let url = Url::parse(&format!("postgres://postgres@127.0.0.1:{port}/postgres")).unwrap();
    wait_until_accepting(&url).await;
    url
}

/// `initdb` into a temporary directory and `postgres` on a free port; a
/// watcher stops the server and removes the directory when this process
/// ends, however it ends.
async fn local_cluster() -> Url {
    let bin = postgres_bin_dir();
    let dir = std::env::temp_dir().join(format!("gtf-bff-test-pg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // initdb refuses to run as root: run the cluster as the postgres user.
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if as_root {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown of the test cluster directory failed");
    }
    let script = format!(
        r#"set -e
"{bin}/initdb" -D "{dir}/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
"{bin}/postgres" -D "{dir}/data" -p {port} -k "{dir}" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500 \
    >"{dir}/log" 2>&1 &
pg=$!
while [ -d /proc/{parent} ]; do sleep 1; done
kill $pg; wait $pg || true
rm -rf "{dir}"
"#,
        bin = bin.display(),
        dir = dir.display(),
        parent = std::process::id(),
    );
    let mut cmd = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &script]);
        c
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut watcher = cmd
        .spawn()
        .expect("starting a throwaway PostgreSQL cluster");
    // The watcher outlives every test; reap it if it ever ends first.
    std::thread::spawn(move || watcher.wait());
    let url = Url::parse(&format!("postgres://postgres@127.0.0.1:{port}/postgres")).unwrap();
    wait_until_accepting(&url).await;
    url
}

fn postgres_bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("no DATABASE_URL, no Docker, and no PostgreSQL under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().expect("initdb under /usr/lib/postgresql/*/bin")
}

async fn wait_until_accepting(url: &Url) {
    let what = format!("PostgreSQL at {url} to accept connections");
    wait_until(&what, Duration::from_secs(30), || async {
        PgConnection::connect(url.as_str()).await.ok().map(drop)
    })
    .await;
}
