//! `hanrig gateway …`: administer and serve the HAN gateway.
//!
//! `admin` keeps the gateway's companies, users and client certificates (issued by a lab CA
//! kept in a directory) and answers invitations as their customers; `serve` runs the API over
//! mutual TLS and a connector per TDSP whose head-end is configured; `openapi` prints the
//! API's document.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use hanrig_gateway::access::{CompanyKind, Permission};
use hanrig_gateway_api::pki::{LabCa, write};
use hanrig_gateway_connect::unix_now as now;
use hanrig_gateway_store::Store;

/// The repository when none is named: an SQLite file in the working directory.
pub const DEFAULT_DATABASE: &str = "sqlite://gateway.db?mode=rwc";

/// `hanrig gateway admin …`.
#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Create a lab CA in a directory (ca.pem, ca.key) with a server certificate for the
    /// gateway (server.pem, server.key).
    CaInit {
        /// The directory (created if missing; an existing CA there is refused).
        #[arg(long)]
        dir: PathBuf,
        /// Names the server certificate is valid for (DNS names or IP addresses).
        #[arg(long, value_delimiter = ',', default_value = "localhost,127.0.0.1")]
        names: Vec<String>,
    },
    /// Add a company: third-party, rep, tdsp or regulatory.
    CompanyAdd {
        /// Its name.
        name: String,
        /// Its kind.
        #[arg(long)]
        kind: String,
        /// For a TDSP company, the TDSP whose territory it sees (oncor, centerpoint,
        /// aep-texas-central, aep-texas-north, tnmp); required for that kind.
        #[arg(long)]
        tdsp: Option<String>,
    },
    /// List the companies.
    Companies,
    /// Add a user to a company, reading the password from standard input (one line).
    UserAdd {
        /// The company.
        #[arg(long)]
        company: String,
        /// The user name (the HTTP Basic user).
        #[arg(long)]
        user: String,
        /// An administrator: every permission the company's kind allows.
        #[arg(long)]
        admin: bool,
        /// A permission (repeatable): agreements, devices, view-devices, send-messages,
        /// view-messages, statistics.
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
    /// Unlock a user locked by 4 wrong passwords within 5 minutes (SMT BR-017.010).
    UserUnlock {
        /// The user name.
        #[arg(long)]
        user: String,
    },
    /// Set a user's password, reading it from standard input (one line), and unlock it.
    PasswordReset {
        /// The user name.
        #[arg(long)]
        user: String,
    },
    /// Disable a user: it signs in no more; its records stay.
    UserDisable {
        /// The user name.
        #[arg(long)]
        user: String,
    },
    /// Enable a disabled user again.
    UserEnable {
        /// The user name.
        #[arg(long)]
        user: String,
    },
    /// Set what a user may do (replacing what it held).
    UserPermissions {
        /// The user name.
        #[arg(long)]
        user: String,
        /// An administrator: every permission the company's kind allows.
        #[arg(long)]
        admin: bool,
        /// A permission (repeatable): agreements, devices, view-devices, send-messages,
        /// view-messages, statistics.
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
    /// Unlock a client certificate locked by 4 wrong passwords within 5 minutes (it unlocks by
    /// itself 15 minutes after).
    CertUnlock {
        /// The fingerprint `cert-issue` printed.
        fingerprint: String,
    },
    /// List a company's users.
    Users {
        /// The company.
        #[arg(long)]
        company: String,
    },
    /// Issue a client certificate to a company from the lab CA; writes client.pem and
    /// client.key into the output directory.
    CertIssue {
        /// The company.
        #[arg(long)]
        company: String,
        /// The lab CA's directory.
        #[arg(long)]
        ca_dir: PathBuf,
        /// Where to write client.pem and client.key.
        #[arg(long)]
        out: PathBuf,
    },
    /// List a meter's open invitations with their secrets: what the customer's e-mail would
    /// carry (the lab has no mail).
    Invitations {
        /// The meter.
        #[arg(long)]
        esiid: String,
    },
    /// Answer an invitation as the customer does through the e-mail's links.
    InvitationAnswer {
        /// The invitation's secret.
        token: String,
        /// `accept` or `reject`.
        answer: String,
    },
    /// Extend an Energy Data Agreement in force, as its customer does through the link of the
    /// invitation's e-mail: by 1 to 12 months from its end, to at most 12 months from now.
    AgreementExtend {
        /// The invitation's secret.
        token: String,
        /// Months, 1 to 12.
        #[arg(long)]
        months: u8,
    },
    /// Revoke a client certificate by its SHA-256 fingerprint (hex).
    CertRevoke {
        /// The fingerprint `cert-issue` printed.
        fingerprint: String,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Creates a CA in `dir` and a server certificate for `names`.
pub fn ca_init(dir: &Path, names: &[&str]) -> Result<String, String> {
    if dir.join("ca.key").exists() {
        return Err(format!(
            "{} holds a CA already (ca.key): use another directory",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ca = LabCa::create().map_err(|e| e.to_string())?;
    ca.save(dir).map_err(|e| e.to_string())?;
    let server = ca.issue_server(names).map_err(|e| e.to_string())?;
    write(&dir.join("server.pem"), &server.cert_pem, false).map_err(|e| e.to_string())?;
    write(&dir.join("server.key"), &server.key_pem, true).map_err(|e| e.to_string())?;
    Ok(format!(
        "lab CA in {dir}: ca.pem, ca.key; server certificate for {names} in server.pem, server.key\n",
        dir = dir.display(),
        names = names.join(", ")
    ))
}

/// Issues a client certificate to `company`, records it, and writes it into `out`.
pub async fn issue(
    store: &Store,
    company: &str,
    ca_dir: &Path,
    out: &Path,
) -> Result<String, String> {
    store.company(company).await.map_err(|e| e.to_string())?;
    let ca = LabCa::load(ca_dir).map_err(|e| e.to_string())?;
    let cert = ca.issue_client(company).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    write(&out.join("client.pem"), &cert.cert_pem, false).map_err(|e| e.to_string())?;
    write(&out.join("client.key"), &cert.key_pem, true).map_err(|e| e.to_string())?;
    store
        .add_certificate(company, &cert.fingerprint, &cert.subject, now())
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "client certificate for {company:?} in {out}/client.pem, client.key\nfingerprint {}\n",
        cert.fingerprint,
        out = out.display()
    ))
}

/// `--permission` values, each one of Table 6's names.
fn parse_permissions(names: &[String]) -> Result<Vec<Permission>, String> {
    names
        .iter()
        .map(|p| p.parse::<Permission>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// What `user-add` and `user-permissions` print of the user.
fn user_line(u: &hanrig_gateway_store::UserRecord) -> String {
    format!(
        "user {:?} of {:?}{}: {}\n",
        u.username,
        u.company.name,
        if u.admin { " (administrator)" } else { "" },
        hanrig_gateway::access::join(&u.permissions)
    )
}

/// Runs one admin command against the repository at `database`.
pub fn admin(database: &str, command: Admin) -> Result<String, String> {
    if let Admin::CaInit { dir, names } = &command {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        return ca_init(dir, &names);
    }
    // A new password comes on standard input and must pass SMT's rules (BR-017.003).
    let hash = match &command {
        Admin::UserAdd { user, .. } | Admin::PasswordReset { user } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("reading the password from standard input: {e}"))?;
            let password = line.trim_end_matches(['\r', '\n']);
            hanrig_gateway_api::auth::new_password_hash(user, password)
                .map_err(|e| format!("{e} (the password is read from standard input)"))?
        }
        _ => String::new(),
    };
    runtime()?.block_on(async {
        let store = Store::open(database).await.map_err(|e| e.to_string())?;
        match command {
            Admin::CaInit { .. } => unreachable!("handled above"),
            Admin::CompanyAdd { name, kind, tdsp } => {
                let kind: CompanyKind = kind
                    .parse()
                    .map_err(|e: hanrig_gateway::access::AccessError| e.to_string())?;
                let territory = tdsp
                    .map(|t| t.parse::<hanrig_gateway::routing::Tdsp>())
                    .transpose()
                    .map_err(|e| format!("--tdsp: {e}"))?;
                if kind == CompanyKind::Tdsp && territory.is_none() {
                    return Err("a TDSP company sees one TDSP's territory: give --tdsp".into());
                }
                let c = store
                    .add_company_in(&name, kind, territory, now())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "company {:?} ({}{})\n",
                    c.name,
                    c.kind,
                    c.territory.map(|t| format!(", {t}")).unwrap_or_default()
                ))
            }
            Admin::Companies => Ok(store
                .companies()
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .map(|c| {
                    format!(
                        "{}\t{}{}\n",
                        c.name,
                        c.kind,
                        c.territory.map(|t| format!("\t{t}")).unwrap_or_default()
                    )
                })
                .collect()),
            Admin::UserAdd {
                company,
                user,
                admin,
                permissions,
            } => {
                let permissions = parse_permissions(&permissions)?;
                let u = store
                    .add_user(&company, &user, &hash, admin, &permissions, now())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(user_line(&u))
            }
            Admin::UserUnlock { user } => {
                store
                    .unlock_user(&user, None)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!("user {user:?} unlocked\n"))
            }
            Admin::PasswordReset { user } => {
                store
                    .unlock_user(&user, Some(&hash))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!("user {user:?}: password set, unlocked\n"))
            }
            Admin::UserDisable { user } => {
                store
                    .set_user_disabled(&user, true, now())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!("user {user:?} disabled\n"))
            }
            Admin::UserEnable { user } => {
                store
                    .set_user_disabled(&user, false, now())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!("user {user:?} enabled\n"))
            }
            Admin::UserPermissions {
                user,
                admin,
                permissions,
            } => {
                let permissions = parse_permissions(&permissions)?;
                let u = store
                    .set_user_permissions(&user, admin, &permissions)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(user_line(&u))
            }
            Admin::CertUnlock { fingerprint } => {
                store
                    .unlock_certificate(&fingerprint)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!("client certificate {fingerprint} unlocked\n"))
            }
            Admin::Users { company } => Ok(store
                .users(&company)
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .map(|u| {
                    format!(
                        "{}\t{}\t{}{}\n",
                        u.username,
                        if u.admin { "admin" } else { "user" },
                        hanrig_gateway::access::join(&u.permissions),
                        match (u.locked_at, u.disabled_at) {
                            (_, Some(_)) => "\tdisabled",
                            (Some(_), None) => "\tlocked",
                            (None, None) => "",
                        }
                    )
                })
                .collect()),
            Admin::CertIssue {
                company,
                ca_dir,
                out,
            } => issue(&store, &company, &ca_dir, &out).await,
            Admin::Invitations { esiid } => {
                let esiid: hanrig_gateway::esiid::Esiid =
                    esiid.parse().map_err(|e| format!("{e}"))?;
                let mut out = String::new();
                for company in store.companies().await.map_err(|e| e.to_string())? {
                    for a in store
                        .agreements(&company.name, Some(&esiid))
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        if let hanrig_gateway::agreement::AgreementState::Invited { .. } =
                            a.state.at(now() as u64)
                        {
                            out += &format!(
                                "{}\t{}\t{:?}\t{}\t{}\n",
                                a.token,
                                a.company,
                                a.kind,
                                a.device.map(|d| d.to_string()).unwrap_or_default(),
                                a.customer_email
                            );
                        }
                    }
                }
                Ok(out)
            }
            Admin::AgreementExtend { token, months } => {
                let a = store
                    .agreement_by_token(&token)
                    .await
                    .map_err(|e| e.to_string())?;
                let a = store
                    .extend_agreement(a.id, months, now())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "agreement {} with {:?}: in force until {}\n",
                    a.id,
                    a.company,
                    a.ends_at
                        .map(hanrig_usage::day::us_local)
                        .unwrap_or_default()
                ))
            }
            Admin::InvitationAnswer { token, answer } => {
                let a = store
                    .agreement_by_token(&token)
                    .await
                    .map_err(|e| e.to_string())?;
                let a = match answer.as_str() {
                    "accept" => {
                        store
                            .step_agreement(a.id, now(), |s, now| s.accept(now))
                            .await
                    }
                    "reject" => {
                        store
                            .step_agreement(a.id, now(), |s, now| s.reject(now))
                            .await
                    }
                    other => return Err(format!("answer {other:?}: accept or reject")),
                }
                .map_err(|e| e.to_string())?;
                Ok(format!(
                    "agreement {} with {:?}: {}\n",
                    a.id,
                    a.company,
                    a.state.name()
                ))
            }
            Admin::CertRevoke { fingerprint } => {
                store
                    .revoke_certificate(&fingerprint, now())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!("certificate {fingerprint} revoked\n"))
            }
        }
    })
}

/// `hanrig gateway serve` options.
#[derive(Debug, clap::Args)]
pub struct Serve {
    /// The repository: sqlite://FILE?mode=rwc or postgres://USER@HOST/DB.
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub database_url: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// The lab CA's directory: ca.pem (clients must chain to it), server.pem, server.key.
    #[arg(long)]
    pub tls_dir: PathBuf,
    /// The ESIID prefix → TDSP table (TOML, like gateway/routing.toml); the built-in Texas
    /// table when absent.
    #[arg(long)]
    pub routing: Option<PathBuf>,
    /// Each TDSP's head-end (TOML, like gateway/headends.example.toml): its URL and, for the
    /// CIM and MultiSpeak styles, where the gateway takes its callbacks. A TDSP without one
    /// keeps its deliveries queued.
    #[arg(long)]
    pub headends: Option<PathBuf>,
    /// Pause between a connector's rounds, milliseconds (default: its style's poll interval).
    #[arg(long)]
    pub pace_ms: Option<u64>,
    /// A directory where the TDSPs drop their daily interval files, one subdirectory each
    /// (oncor/, centerpoint/, …); each file is ingested and moved to done/ (with
    /// NAME.errors.txt when rows were refused) or failed/ (with NAME.reason.txt).
    #[arg(long)]
    pub usage_drop: Option<PathBuf>,
    /// Serve the Smart Meter Texas-compatible portal API for residential customers here
    /// (server TLS with the same certificate; no client certificate).
    #[arg(long)]
    pub portal_listen: Option<String>,
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The routing table of `path`, or the built-in one.
pub fn routing(path: Option<&Path>) -> Result<hanrig_gateway::routing::Routing, String> {
    match path {
        Some(path) => hanrig_gateway::routing::Routing::from_toml(&read(path)?)
            .map_err(|e| format!("{}: {e}", path.display())),
        None => Ok(hanrig_gateway::routing::Routing::texas()),
    }
}

/// Serves the gateway (hanrig-gateway-server: the API, a supervised connector per configured
/// TDSP, the calling-back head-ends' authenticated listeners) until interrupted.
pub fn serve(options: &Serve) -> Result<String, String> {
    let routing = routing(options.routing.as_deref())?;
    let dir = &options.tls_dir;
    let (cert_pem, key_pem) = (
        read(&dir.join("server.pem"))?,
        read(&dir.join("server.key"))?,
    );
    let api_tls =
        hanrig_gateway_api::tls::server_config(&read(&dir.join("ca.pem"))?, &cert_pem, &key_pem)
            .map_err(|e| e.to_string())?;
    runtime()?.block_on(async {
        let store = Store::open(&options.database_url)
            .await
            .map_err(|e| e.to_string())?;
        let pace = |tdsp: hanrig_gateway::routing::Tdsp| {
            let mut pace =
                hanrig_gateway_connect::Pace::of(hanrig_headend::limits::of(tdsp.style()));
            if let Some(ms) = options.pace_ms {
                pace.idle = std::time::Duration::from_millis(ms);
            }
            pace
        };
        let links = match &options.headends {
            Some(path) => {
                let identity = hanrig_gateway_server::headends::Identity {
                    cert_pem: &cert_pem,
                    key_pem: &key_pem,
                };
                hanrig_gateway_server::headends::links(path, identity, pace).await?
            }
            None => Vec::new(),
        };
        for link in &links {
            eprintln!(
                "hanrig gateway: {} through its {:?}-style head-end",
                link.tdsp,
                link.tdsp.style()
            );
        }
        let api = tokio::net::TcpListener::bind(&options.listen)
            .await
            .map_err(|e| format!("listening on {}: {e}", options.listen))?;
        let address = api.local_addr().map_err(|e| e.to_string())?;
        let portal = match &options.portal_listen {
            Some(at) => {
                let listener = tokio::net::TcpListener::bind(at)
                    .await
                    .map_err(|e| format!("listening on {at}: {e}"))?;
                eprintln!(
                    "hanrig gateway: portal API on https://{}",
                    listener.local_addr().map_err(|e| e.to_string())?
                );
                Some(hanrig_gateway_server::Portal {
                    listener,
                    tls: hanrig_gateway_api::tls::public_server_config(&cert_pem, &key_pem)
                        .map_err(|e| e.to_string())?,
                })
            }
            None => None,
        };
        let gateway = hanrig_gateway_server::Gateway {
            store,
            routing,
            api,
            api_tls,
            clock: now,
            links,
            limits: Default::default(),
            usage_drop: options.usage_drop.clone().map(|dir| {
                hanrig_gateway_server::usage::DropDirectory {
                    dir,
                    every: std::time::Duration::from_secs(10),
                }
            }),
            portal,
        };
        eprintln!("hanrig gateway: API on https://{address} (mutual TLS); Ctrl-C stops it");
        gateway
            .serve(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok("hanrig gateway: stopped\n".to_string())
    })
}

/// The API's OpenAPI document, pretty JSON.
pub fn openapi() -> Result<String, String> {
    runtime()?.block_on(async {
        // The document does not depend on the data: an in-memory repository serves to build it.
        let store = Store::open("sqlite::memory:")
            .await
            .map_err(|e| e.to_string())?;
        let doc =
            hanrig_gateway_api::Api::new(store, hanrig_gateway::routing::Routing::texas(), now)
                .openapi();
        serde_json::to_string_pretty(&doc)
            .map(|j| j + "\n")
            .map_err(|e| e.to_string())
    })
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Companies, users, the lab CA and client certificates.
    Admin {
        /// The repository: sqlite://FILE?mode=rwc or postgres://USER@HOST/DB.
        #[arg(long, default_value = DEFAULT_DATABASE)]
        database_url: String,
        #[command(subcommand)]
        command: Admin,
    },
    /// Serve the API over mutual TLS until interrupted.
    Serve(Serve),
    /// Print the API's OpenAPI 3.1 document (what `GET /openapi.json` serves).
    Openapi,
}

/// Runs `hanrig gateway …`.
pub fn run(command: GatewayCommand) -> anyhow::Result<String> {
    match command {
        GatewayCommand::Admin {
            database_url,
            command,
        } => admin(&database_url, command),
        GatewayCommand::Serve(options) => serve(&options),
        GatewayCommand::Openapi => openapi(),
    }
    .map_err(anyhow::Error::msg)
}
