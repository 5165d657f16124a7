//! `Authenticator` (Qt: `QAuthenticator`): the credentials a
//! `proxy_authentication_required` slot fills in.

use std::collections::BTreeMap;
use std::fmt;

use super::network_proxy::redacted;

/// Credentials for a proxy that asked for them, and what the proxy said
/// about itself (its realm and challenge options).
///
/// A proxy handshake hands one to the application when the proxy refuses
/// the credentials it has (Qt emits `proxyAuthenticationRequired(proxy,
/// authenticator)`); a slot sets [`user`](Self::user) and
/// [`password`](Self::password), and the handshake retries with them. Left
/// empty, the connection fails with `ProxyAuthenticationRequiredError`.
///
/// Qt: `QAuthenticator`.
///
/// # Examples
///
/// ```
/// use sigloop_net::Authenticator;
///
/// let mut auth = Authenticator::new();
/// assert!(auth.is_null());
/// auth.set_user("alice");
/// auth.set_password("secret");
/// assert!(!auth.is_null());
/// assert_eq!((auth.user(), auth.password()), ("alice", "secret"));
/// assert!(!format!("{auth:?}").contains("secret"), "Debug hides the password");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Authenticator {
    user: String,
    password: String,
    realm: String,
    options: BTreeMap<String, String>,
    touched: bool,
}

impl Authenticator {
    /// An empty, null authenticator.
    ///
    /// Qt: `QAuthenticator()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::Authenticator::new().user().is_empty());
    /// ```
    pub fn new() -> Self {
        Authenticator::default()
    }

    /// Whether nothing was ever set (Qt's "not initialized").
    ///
    /// Qt: `QAuthenticator::isNull()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut auth = sigloop_net::Authenticator::new();
    /// auth.set_option("charset", "UTF-8");
    /// assert!(!auth.is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        !self.touched
    }

    /// The user name. Qt: `QAuthenticator::user()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::Authenticator::new().user(), "");
    /// ```
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Sets the user name. Qt: `QAuthenticator::setUser()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut auth = sigloop_net::Authenticator::new();
    /// auth.set_user("bob");
    /// assert_eq!(auth.user(), "bob");
    /// ```
    pub fn set_user(&mut self, user: impl Into<String>) {
        self.touched = true;
        self.user = user.into();
    }

    /// The password. Qt: `QAuthenticator::password()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::Authenticator::new().password(), "");
    /// ```
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Sets the password. Qt: `QAuthenticator::setPassword()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut auth = sigloop_net::Authenticator::new();
    /// auth.set_password("pw");
    /// assert_eq!(auth.password(), "pw");
    /// ```
    pub fn set_password(&mut self, password: impl Into<String>) {
        self.touched = true;
        self.password = password.into();
    }

    /// The realm the proxy named in its challenge (HTTP Basic and Digest);
    /// empty for SOCKS5.
    ///
    /// Qt: `QAuthenticator::realm()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::Authenticator::new().realm(), "");
    /// ```
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Sets the realm from a challenge (Qt's `setRealm` is internal too).
    pub(crate) fn set_realm(&mut self, realm: impl Into<String>) {
        self.touched = true;
        self.realm = realm.into();
        self.options.insert("realm".to_owned(), self.realm.clone());
    }

    /// One option, if set: `"realm"` from a challenge, or one the
    /// application set.
    ///
    /// Qt: `QAuthenticator::option()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut auth = sigloop_net::Authenticator::new();
    /// auth.set_option("realm", "proxy");
    /// assert_eq!(auth.option("realm"), Some("proxy"));
    /// assert_eq!(auth.option("nope"), None);
    /// ```
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// Every option, by name.
    ///
    /// Qt: `QAuthenticator::options()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::Authenticator::new().options().is_empty());
    /// ```
    pub fn options(&self) -> &BTreeMap<String, String> {
        &self.options
    }

    /// Sets an option.
    ///
    /// Qt: `QAuthenticator::setOption()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut auth = sigloop_net::Authenticator::new();
    /// auth.set_option("x", "1");
    /// assert_eq!(auth.options().len(), 1);
    /// ```
    pub fn set_option(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.touched = true;
        self.options.insert(name.into(), value.into());
    }

    /// Whether a slot gave credentials to retry with (Qt's rule: a user or a
    /// password that is not empty).
    pub(crate) fn has_credentials(&self) -> bool {
        !self.user.is_empty() || !self.password.is_empty()
    }
}

impl fmt::Debug for Authenticator {
    /// Never shows the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("user", &self.user)
            .field("password", &redacted(&self.password))
            .field("realm", &self.realm)
            .field("options", &self.options)
            .finish()
    }
}

/// `text` in Latin-1, as Qt's `QString::toLatin1()` makes it: a character
/// above U+00FF becomes `?`.
pub(crate) fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}
