//! Server-side request forgery: a merchant's webhook URL must not make the
//! platform call its own network. A URL's host is resolved and refused when
//! any of its addresses is loopback, private, link-local, unique-local,
//! unspecified, multicast, shared (CGNAT) or otherwise reserved, both when the
//! webhook is created and again when it is sent: the sending client resolves
//! through [`GuardedResolver`], so it connects only to an address that was
//! checked (a DNS answer that changed since creation, "rebinding", is caught
//! there). Off when the platform sets `WEBHOOK_ALLOW_PRIVATE_TARGETS=true`.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::model::WebhookUrl;

/// The most resolving a webhook's host may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a URL's host is refused (a field error's detail).
pub const REFUSED: &str = "must not point at a loopback, private, link-local or otherwise internal address";
/// Why a URL whose host does not resolve is refused.
pub const UNRESOLVED: &str = "has a host that does not resolve";

/// Whether an address is one the platform never calls on a merchant's behalf.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let o = v6.octets();
                return is_internal_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link local fe80::/10
                || (segments[0] & 0xffc0) == 0xfec0 // site local (deprecated) fec0::/10
                || segments[0] == 0x2001 && segments[1] == 0x0db8 // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1)
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network" 0.0.0.0/8
        || (a == 100 && (b & 0xc0) == 64) // shared address space (CGNAT) 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || a >= 240 // reserved 240.0.0.0/4
}

/// Checks a webhook URL's host: every address it resolves to must be public,
/// unless `allow_private`. The error is the field error's detail.
pub async fn check_url(url: &WebhookUrl, allow_private: bool) -> Result<(), &'static str> {
    if allow_private {
        return Ok(());
    }
    let url = url.url();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = match literal_ip(url) {
        Some(ip) => vec![ip],
        None => resolve(url.host_str().ok_or(UNRESOLVED)?, port).await.map_err(|_| UNRESOLVED)?,
    };
    if addrs.is_empty() {
        return Err(UNRESOLVED);
    }
    if addrs.into_iter().any(is_internal) {
        return Err(REFUSED);
    }
    Ok(())
}

/// The URL's host when it is an IP address (which no resolver sees).
pub fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    url.host_str()?.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

async fn resolve(host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "resolving timed out"))??;
    Ok(found.map(|a| a.ip()).collect())
}

/// The sending client's resolver: the system's, refusing a host with any
/// internal address (unless `allow_private`), so the connection goes only to
/// an address checked here.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = resolve(name.as_str(), 0).await?;
            if !allow_private && addrs.iter().copied().any(is_internal) {
                return Err(format!("{} resolves to an internal address", name.as_str()).into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_and_public_ones_are_not() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "2606:4700::1111", "64:ff9b::808:808"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }
}
