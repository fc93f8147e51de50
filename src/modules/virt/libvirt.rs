//! libvirt, loaded when a virt function first needs it. `libvirt.so.0` and the 54 libraries it
//! pulls in (GLib, GnuTLS, libxml2, libssh, ...) are opened with dlopen(3) at the first
//! connection instead of by the dynamic linker at every start, and only the functions labsh
//! calls are resolved, by name, into [`Api`]. Above it: safe handles ([`Connect`], [`Domain`],
//! [`Network`]) that free what libvirt allocates, and errors read back as [`Error`].
//!
//! The prototypes, struct layouts and constants are those of libvirt's public headers
//! (`libvirt-host.h`, `libvirt-domain.h`, `libvirt-network.h`, `virterror.h`, libvirt 6.0 and
//! later, whose ABI only grows); the ownership rules (what is freed with `free`, what with
//! `vir*Free`, what is borrowed) are libvirt's API documentation's, as the `virt` crate 0.5 also
//! followed them.
//!
//! Soundness:
//! - the library handle is never closed, so every resolved function stays valid for the life of
//!   the process (libvirt itself is linked `-z nodelete` and cannot be unloaded once initialised:
//!   libvirt's tests/shunloadtest.c);
//! - each symbol is given the type of its prototype in the headers, and a missing one fails the
//!   load with its name rather than being called;
//! - a handle holds a reference libvirt counts, released once in `Drop`; libvirt's objects may
//!   be used from several threads (the `virt` crate 0.5 marks them `Send` and `Sync` the same
//!   way: src/connect.rs, src/domain.rs, src/network.rs);
//! - a failed call's error is read at once on the same thread (libvirt keeps it per thread).

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_ulonglong, c_ushort, c_void, CStr, CString};
use std::ptr::NonNull;
use std::sync::OnceLock;

/// `VIR_DOMAIN_XML_INACTIVE` (libvirt-domain.h, `virDomainXMLFlags`): the persistent definition.
pub const VIR_DOMAIN_XML_INACTIVE: u32 = 1 << 1;
/// `VIR_NETWORK_XML_INACTIVE` (libvirt-network.h, `virNetworkXMLFlags`).
pub const VIR_NETWORK_XML_INACTIVE: u32 = 1 << 0;
/// `virNetworkUpdateFlags` (libvirt-network.h).
pub const VIR_NETWORK_UPDATE_AFFECT_LIVE: u32 = 1 << 0;
pub const VIR_NETWORK_UPDATE_AFFECT_CONFIG: u32 = 1 << 1;
/// `virNetworkUpdateCommand` (libvirt-network.h).
pub const VIR_NETWORK_UPDATE_COMMAND_DELETE: u32 = 2;
pub const VIR_NETWORK_UPDATE_COMMAND_ADD_LAST: u32 = 3;
/// `virNetworkUpdateSection` (libvirt-network.h): `<ip>/<dhcp>/<range>`.
pub const VIR_NETWORK_SECTION_IP_DHCP_RANGE: u32 = 5;
/// `virDomainUndefineFlagsValues` (libvirt-domain.h).
pub const VIR_DOMAIN_UNDEFINE_MANAGED_SAVE: u32 = 1 << 0;
pub const VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA: u32 = 1 << 1;
/// `virDomainSnapshotCreateFlags` (libvirt-domain-snapshot.h): a snapshot's record given back
/// to libvirt (its data is there already), and all or nothing of a snapshot.
pub const VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE: u32 = 1 << 0;
pub const VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC: u32 = 1 << 7;
/// `virDomainSnapshotRevertFlags` (libvirt-domain-snapshot.h): paused after the revert.
pub const VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED: u32 = 1 << 1;
/// `virErrorNumber` (virterror.h).
const VIR_ERR_INTERNAL_ERROR: c_int = 1;
const VIR_ERR_INVALID_ARG: c_int = 8;
const VIR_ERR_NO_DOMAIN: c_int = 42;
const VIR_ERR_NO_NETWORK: c_int = 43;
const VIR_ERR_NO_DOMAIN_SNAPSHOT: c_int = 72;

/// The library's file name: its SONAME, which Debian's `libvirt0` package ships.
const LIBRARY: &CStr = c"libvirt.so.0";

type Conn = *mut c_void;
type Dom = *mut c_void;
type Net = *mut c_void;
type Snap = *mut c_void;

/// `struct _virError` (virterror.h): only its leading fields, which are all this reads.
#[repr(C)]
struct VirError {
    code: c_int,
    _domain: c_int,
    message: *const c_char,
}

/// `struct _virNodeInfo` (libvirt-host.h).
#[repr(C)]
struct VirNodeInfo {
    model: [c_char; 32],
    memory: c_ulong,
    cpus: c_uint,
    mhz: c_uint,
    nodes: c_uint,
    sockets: c_uint,
    cores: c_uint,
    threads: c_uint,
}

/// `struct _virDomainInfo` (libvirt-domain.h): libvirt fills all of it, labsh reads the state
/// and the memory in use.
#[repr(C)]
struct VirDomainInfo {
    state: u8,
    _max_mem: c_ulong,
    memory: c_ulong,
    _nr_virt_cpu: c_ushort,
    _cpu_time: c_ulonglong,
}

/// `struct _virDomainMemoryStat` (libvirt-domain.h).
#[repr(C)]
#[derive(Clone, Copy)]
struct VirDomainMemoryStat {
    tag: c_int,
    val: c_ulonglong,
}

/// `VIR_DOMAIN_MEMORY_STAT_RSS` (libvirt-domain.h): the QEMU process's resident memory, KiB.
const VIR_DOMAIN_MEMORY_STAT_RSS: c_int = 7;
/// `VIR_DOMAIN_MEMORY_STAT_NR` of libvirt 9.0: how many kinds of statistic there are.
const MEMORY_STATS: usize = 13;

type ErrorFunc = unsafe extern "C" fn(*mut c_void, *mut VirError);

/// Declares [`Api`] (a field per function, typed by its prototype) and its resolution by name.
macro_rules! api {
    ($($field:ident = $sym:literal: fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// The libvirt functions labsh calls.
        struct Api {
            $($field: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
        }

        impl Api {
            /// # Safety
            /// `lib` is a live handle from dlopen of libvirt, never closed.
            unsafe fn resolve(lib: *mut c_void) -> Result<Api, LoadError> {
                Ok(Api {
                    $($field: {
                        let name = concat!($sym, "\0");
                        // SAFETY: a NUL-terminated name and the caller's live handle.
                        let p = unsafe { libc::dlsym(lib, name.as_ptr().cast()) };
                        if p.is_null() {
                            return Err(LoadError::failed(format!(
                                "{} has no function {}",
                                LIBRARY.to_string_lossy(),
                                $sym
                            )));
                        }
                        // SAFETY: the symbol is the function of that name in libvirt's
                        // headers, whose prototype is the field's type; a data pointer and a
                        // function pointer have the same size and representation on the
                        // platforms libvirt runs on (POSIX requires it of dlsym).
                        unsafe {
                            std::mem::transmute::<
                                *mut c_void,
                                unsafe extern "C" fn($($arg),*) $(-> $ret)?,
                            >(p)
                        }
                    },)*
                })
            }
        }
    };
}

api! {
    connect_open = "virConnectOpen": fn(*const c_char) -> Conn;
    connect_close = "virConnectClose": fn(Conn) -> c_int;
    connect_get_hostname = "virConnectGetHostname": fn(Conn) -> *mut c_char;
    connect_get_capabilities = "virConnectGetCapabilities": fn(Conn) -> *mut c_char;
    node_get_info = "virNodeGetInfo": fn(Conn, *mut VirNodeInfo) -> c_int;
    connect_list_all_domains = "virConnectListAllDomains": fn(Conn, *mut *mut Dom, c_uint) -> c_int;
    connect_list_all_networks =
        "virConnectListAllNetworks": fn(Conn, *mut *mut Net, c_uint) -> c_int;
    domain_lookup_by_name = "virDomainLookupByName": fn(Conn, *const c_char) -> Dom;
    domain_define_xml = "virDomainDefineXML": fn(Conn, *const c_char) -> Dom;
    domain_get_name = "virDomainGetName": fn(Dom) -> *const c_char;
    domain_get_xml_desc = "virDomainGetXMLDesc": fn(Dom, c_uint) -> *mut c_char;
    domain_get_autostart = "virDomainGetAutostart": fn(Dom, *mut c_int) -> c_int;
    domain_set_autostart = "virDomainSetAutostart": fn(Dom, c_int) -> c_int;
    domain_get_info = "virDomainGetInfo": fn(Dom, *mut VirDomainInfo) -> c_int;
    domain_is_active = "virDomainIsActive": fn(Dom) -> c_int;
    domain_create = "virDomainCreate": fn(Dom) -> c_int;
    domain_shutdown = "virDomainShutdown": fn(Dom) -> c_int;
    domain_destroy = "virDomainDestroy": fn(Dom) -> c_int;
    domain_undefine_flags = "virDomainUndefineFlags": fn(Dom, c_uint) -> c_int;
    domain_memory_stats =
        "virDomainMemoryStats": fn(Dom, *mut VirDomainMemoryStat, c_uint, c_uint) -> c_int;
    domain_suspend = "virDomainSuspend": fn(Dom) -> c_int;
    domain_resume = "virDomainResume": fn(Dom) -> c_int;
    snapshot_create_xml = "virDomainSnapshotCreateXML": fn(Dom, *const c_char, c_uint) -> Snap;
    snapshot_lookup_by_name = "virDomainSnapshotLookupByName": fn(Dom, *const c_char, c_uint) -> Snap;
    snapshot_get_xml_desc = "virDomainSnapshotGetXMLDesc": fn(Snap, c_uint) -> *mut c_char;
    snapshot_revert = "virDomainRevertToSnapshot": fn(Snap, c_uint) -> c_int;
    snapshot_delete = "virDomainSnapshotDelete": fn(Snap, c_uint) -> c_int;
    snapshot_free = "virDomainSnapshotFree": fn(Snap) -> c_int;
    domain_free = "virDomainFree": fn(Dom) -> c_int;
    network_lookup_by_name = "virNetworkLookupByName": fn(Conn, *const c_char) -> Net;
    network_define_xml = "virNetworkDefineXML": fn(Conn, *const c_char) -> Net;
    network_get_name = "virNetworkGetName": fn(Net) -> *const c_char;
    network_get_xml_desc = "virNetworkGetXMLDesc": fn(Net, c_uint) -> *mut c_char;
    network_get_autostart = "virNetworkGetAutostart": fn(Net, *mut c_int) -> c_int;
    network_set_autostart = "virNetworkSetAutostart": fn(Net, c_int) -> c_int;
    network_is_active = "virNetworkIsActive": fn(Net) -> c_int;
    network_create = "virNetworkCreate": fn(Net) -> c_int;
    network_update =
        "virNetworkUpdate": fn(Net, c_uint, c_uint, c_int, *const c_char, c_uint) -> c_int;
    network_destroy = "virNetworkDestroy": fn(Net) -> c_int;
    network_undefine = "virNetworkUndefine": fn(Net) -> c_int;
    network_free = "virNetworkFree": fn(Net) -> c_int;
    get_last_error = "virGetLastError": fn() -> *mut VirError;
    set_error_func = "virSetErrorFunc": fn(*mut c_void, Option<ErrorFunc>);
}

/// Why libvirt cannot be loaded: the crate's error (a missing library is not found).
type LoadError = crate::error::Error;

/// The loaded library. Process-wide: libvirt is loaded once into the process, and the same for
/// every run in it (each run's connections are its own: client.rs).
static API: OnceLock<Result<Api, LoadError>> = OnceLock::new();

/// libvirt's error handler that does nothing: errors are read back with virGetLastError and
/// reported by labsh, not printed by libvirt's default handler on stderr.
unsafe extern "C" fn ignore_error(_: *mut c_void, _: *mut VirError) {}

/// What to install when the library is missing.
const INSTALL: &str = "install libvirt's client library: the package libvirt0 on Debian and \
                       Ubuntu, libvirt-libs on Fedora, RHEL and CentOS Stream";

/// Opens the library `file` for good (it is never closed), or says why it cannot, naming it and
/// what to install.
fn open(file: &CStr) -> Result<*mut c_void, LoadError> {
    // SAFETY: a NUL-terminated file name; dlopen runs the library's initialisers, which libvirt
    // supports (it is meant to be loaded by language bindings this way).
    let lib = unsafe { libc::dlopen(file.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if !lib.is_null() {
        return Ok(lib);
    }
    // SAFETY: dlerror's message (per thread) is read at once, before any other dl call.
    let why = unsafe { libc::dlerror() };
    let name = file.to_string_lossy();
    let why = if why.is_null() {
        "not found".to_string()
    } else {
        // SAFETY: dlerror returned a NUL-terminated string.
        let why = unsafe { CStr::from_ptr(why) }
            .to_string_lossy()
            .into_owned();
        // glibc's message starts with the file's name, which the error names already.
        match why.strip_prefix(&format!("{name}: ")) {
            Some(rest) => rest.to_string(),
            None => why,
        }
    };
    Err(LoadError::not_found(format!(
        "cannot load {name} ({why}); {INSTALL}"
    )))
}

fn load() -> Result<Api, LoadError> {
    let lib = open(LIBRARY)?;
    // SAFETY: `lib` is live and is never closed.
    let api = unsafe { Api::resolve(lib)? };
    // SAFETY: a no-op handler with virErrorFunc's signature, set before any connection exists.
    unsafe { (api.set_error_func)(std::ptr::null_mut(), Some(ignore_error)) };
    Ok(api)
}

/// libvirt, loaded on the first call and kept for the life of the process.
fn api() -> Result<&'static Api, Error> {
    API.get_or_init(load).as_ref().map_err(|e| Error {
        code: NOT_LOADED,
        message: e.message().to_string(),
    })
}

/// Loads libvirt now if it is not yet loaded; the reason when it cannot be.
pub fn ensure_loaded() -> Result<(), LoadError> {
    match API.get_or_init(load) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.clone()),
    }
}

/// The code of an error that is no libvirt call's: the library could not be loaded.
const NOT_LOADED: c_int = -1;

/// A libvirt error: its `virErrorNumber` and message.
#[derive(Debug, Clone)]
pub struct Error {
    code: c_int,
    message: String,
}

impl Error {
    /// The error of the call that just failed on this thread.
    fn last(api: &Api) -> Error {
        // SAFETY: virGetLastError takes no argument; it returns null or this thread's error,
        // valid until the next libvirt call on this thread, and it is copied before that.
        let p = unsafe { (api.get_last_error)() };
        if p.is_null() {
            return Error {
                code: VIR_ERR_INTERNAL_ERROR,
                message: "an unknown libvirt error occurred".into(),
            };
        }
        // SAFETY: a non-null virErrorPtr points at a live virError whose leading fields are
        // VirError's; its message is null or NUL-terminated.
        unsafe {
            let e = &*p;
            Error {
                code: e.code,
                message: if e.message.is_null() {
                    "an unknown libvirt error occurred".into()
                } else {
                    CStr::from_ptr(e.message).to_string_lossy().into_owned()
                },
            }
        }
    }

    fn nul(what: &str) -> Error {
        Error {
            code: VIR_ERR_INVALID_ARG,
            message: format!("{what} contains a NUL byte"),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// No such domain, network or snapshot (`VIR_ERR_NO_DOMAIN`, `VIR_ERR_NO_NETWORK`,
    /// `VIR_ERR_NO_DOMAIN_SNAPSHOT`).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code,
            VIR_ERR_NO_DOMAIN | VIR_ERR_NO_NETWORK | VIR_ERR_NO_DOMAIN_SNAPSHOT
        )
    }
}

/// A libvirt error as the crate's: no such domain or network, or no libvirt library, is not
/// found; any other failed.
impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        let kind = if e.is_not_found() || e.code == NOT_LOADED {
            crate::error::Kind::NotFound
        } else {
            crate::error::Kind::Failed
        };
        crate::error::Error::new(kind, e.message)
    }
}

/// What a libvirt call gives.
pub type Res<T> = Result<T, Error>;

fn cstring(what: &str, s: &str) -> Res<CString> {
    CString::new(s).map_err(|_| Error::nul(what))
}

/// A string libvirt allocated for the caller: copied, then freed with `free`.
///
/// # Safety
/// `p` is non-null, NUL-terminated and malloc'ed by libvirt for the caller, used nowhere else.
unsafe fn take_string(p: *mut c_char) -> String {
    // SAFETY: the caller's promise.
    unsafe {
        let s = CStr::from_ptr(p).to_string_lossy().into_owned();
        libc::free(p.cast());
        s
    }
}

/// A string owned by a libvirt object (`vir*GetName`): copied, not freed.
///
/// # Safety
/// `p` is non-null and NUL-terminated, alive while this runs.
unsafe fn borrowed_string(p: *const c_char) -> String {
    // SAFETY: the caller's promise.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Ok for a libvirt status (0 or more), the thread's error for -1.
fn status(api: &Api, ret: c_int) -> Res<c_int> {
    if ret < 0 {
        Err(Error::last(api))
    } else {
        Ok(ret)
    }
}

fn non_null<T>(api: &Api, p: *mut T) -> Res<NonNull<T>> {
    NonNull::new(p).ok_or_else(|| Error::last(api))
}

/// An open connection (`virConnectPtr`).
pub struct Connect {
    api: &'static Api,
    ptr: NonNull<c_void>,
}

// SAFETY: see the module's notes: libvirt's connections may be used from several threads.
unsafe impl Send for Connect {}
// SAFETY: as above.
unsafe impl Sync for Connect {}

impl Drop for Connect {
    fn drop(&mut self) {
        // SAFETY: the connection's own reference, released once. A failed close leaves nothing
        // to do.
        unsafe { (self.api.connect_close)(self.ptr.as_ptr()) };
    }
}

/// The node's facts (`virNodeInfo`).
pub struct NodeInfo {
    pub model: String,
    pub memory: u64,
    pub cpus: u32,
    pub mhz: u32,
    pub nodes: u32,
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
}

impl Connect {
    /// Opens `uri`, loading libvirt first if needed.
    pub fn open(uri: &str) -> Res<Connect> {
        let api = api()?;
        let uri = cstring("the URI", uri)?;
        // SAFETY: a NUL-terminated URI; the result is checked.
        let p = unsafe { (api.connect_open)(uri.as_ptr()) };
        Ok(Connect {
            api,
            ptr: non_null(api, p)?,
        })
    }

    fn raw(&self) -> Conn {
        self.ptr.as_ptr()
    }

    fn domain(&self, p: Dom) -> Res<Domain> {
        Ok(Domain {
            api: self.api,
            ptr: non_null(self.api, p)?,
        })
    }

    fn network(&self, p: Net) -> Res<Network> {
        Ok(Network {
            api: self.api,
            ptr: non_null(self.api, p)?,
        })
    }

    pub fn hostname(&self) -> Res<String> {
        // SAFETY: a live connection; the result is checked, then owned by the caller.
        let p = non_null(self.api, unsafe {
            (self.api.connect_get_hostname)(self.raw())
        })?;
        // SAFETY: a string allocated for the caller.
        Ok(unsafe { take_string(p.as_ptr()) })
    }

    pub fn capabilities(&self) -> Res<String> {
        // SAFETY: as in hostname.
        let p = non_null(self.api, unsafe {
            (self.api.connect_get_capabilities)(self.raw())
        })?;
        // SAFETY: a string allocated for the caller.
        Ok(unsafe { take_string(p.as_ptr()) })
    }

    pub fn node_info(&self) -> Res<NodeInfo> {
        let mut n = std::mem::MaybeUninit::<VirNodeInfo>::zeroed();
        // SAFETY: a live connection and room for a virNodeInfo, which it fills on success.
        status(self.api, unsafe {
            (self.api.node_get_info)(self.raw(), n.as_mut_ptr())
        })?;
        // SAFETY: zeroed, then filled by libvirt: every field is initialised.
        let n = unsafe { n.assume_init() };
        // The model is NUL-terminated within its 32 bytes; read no further in any case.
        let bytes: Vec<u8> = n
            .model
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        Ok(NodeInfo {
            model: String::from_utf8_lossy(&bytes).into_owned(),
            // c_ulong: u64 here, u32 on 32-bit targets.
            #[allow(clippy::useless_conversion)]
            memory: u64::from(n.memory),
            cpus: n.cpus,
            mhz: n.mhz,
            nodes: n.nodes,
            sockets: n.sockets,
            cores: n.cores,
            threads: n.threads,
        })
    }

    /// A `virConnectListAll*` call: the objects it lists, each taken by `wrap`.
    fn list_all<T>(
        &self,
        call: unsafe extern "C" fn(Conn, *mut *mut *mut c_void, c_uint) -> c_int,
        flags: u32,
        wrap: fn(&Self, *mut c_void) -> Res<T>,
    ) -> Res<Vec<T>> {
        let mut arr: *mut *mut c_void = std::ptr::null_mut();
        // SAFETY: a live connection and a place for the array, which libvirt allocates.
        let n = status(self.api, unsafe { call(self.raw(), &mut arr, flags) })?;
        // SAFETY: `arr` holds `n` object references, each now owned by what `wrap` makes; the
        // array itself is the caller's to free.
        Ok(unsafe { take_array(arr, n, |p| wrap(self, p)) })
    }

    pub fn list_all_domains(&self, flags: u32) -> Res<Vec<Domain>> {
        self.list_all(self.api.connect_list_all_domains, flags, Self::domain)
    }

    pub fn list_all_networks(&self, flags: u32) -> Res<Vec<Network>> {
        self.list_all(self.api.connect_list_all_networks, flags, Self::network)
    }

    /// A call that takes one string (a name, an XML document: `what`, for its error) and
    /// gives a handle, taken by `wrap`.
    fn by_text<T>(
        &self,
        what: &str,
        text: &str,
        call: unsafe extern "C" fn(Conn, *const c_char) -> *mut c_void,
        wrap: fn(&Self, *mut c_void) -> Res<T>,
    ) -> Res<T> {
        let text = cstring(what, text)?;
        // SAFETY: a live connection and a NUL-terminated string; `wrap` checks the result.
        wrap(self, unsafe { call(self.raw(), text.as_ptr()) })
    }

    pub fn lookup_domain_by_name(&self, name: &str) -> Res<Domain> {
        let f = self.api.domain_lookup_by_name;
        self.by_text("the domain name", name, f, Self::domain)
    }

    pub fn lookup_network_by_name(&self, name: &str) -> Res<Network> {
        let f = self.api.network_lookup_by_name;
        self.by_text("the network name", name, f, Self::network)
    }

    pub fn define_domain_xml(&self, xml: &str) -> Res<Domain> {
        self.by_text(
            "the domain XML",
            xml,
            self.api.domain_define_xml,
            Self::domain,
        )
    }

    pub fn define_network_xml(&self, xml: &str) -> Res<Network> {
        self.by_text(
            "the network XML",
            xml,
            self.api.network_define_xml,
            Self::network,
        )
    }
}

/// The objects of an array libvirt allocated, each wrapped by `wrap`; the array freed.
///
/// # Safety
/// `arr` is null or a malloc'ed array of `n` non-null object references owned by the caller.
unsafe fn take_array<T>(
    arr: *mut *mut c_void,
    n: c_int,
    wrap: impl Fn(*mut c_void) -> Res<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    if arr.is_null() {
        return out;
    }
    for i in 0..n.max(0) as usize {
        // SAFETY: i < n, within the array; non-null references are wrapped (and so released
        // once, by Drop).
        if let Ok(x) = wrap(unsafe { *arr.add(i) }) {
            out.push(x);
        }
    }
    // SAFETY: the array itself belongs to the caller and is used no more.
    unsafe { libc::free(arr.cast()) };
    out
}

/// A domain's run state in libvirt's words (`virDomainState`, lower case as virsh and the `virt`
/// crate print them); an unknown number as `state N`.
pub fn state_word(state: u8) -> String {
    match state {
        0 => "nostate",
        1 => "running",
        2 => "blocked",
        3 => "paused",
        4 => "shutdown",
        5 => "shutoff",
        6 => "crashed",
        7 => "pmsuspended",
        n => return format!("state {n}"),
    }
    .to_string()
}

/// A libvirt object handle: the struct, its reference released on drop, and the calls domains
/// and networks share, each through its own libvirt functions.
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident($raw:ty) {
        free: $free:ident,
        name: $get_name:ident,
        xml_desc: $get_xml:ident,
        autostart: $get_auto:ident,
        set_autostart: $set_auto:ident,
        is_active: $is_active:ident,
        create: $create:ident,
        destroy: $destroy:ident,
    }) => {
        $(#[$doc])*
        pub struct $name {
            api: &'static Api,
            ptr: NonNull<c_void>,
        }

        // SAFETY: see the module's notes.
        unsafe impl Send for $name {}
        // SAFETY: as above.
        unsafe impl Sync for $name {}

        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: this handle's reference, released once.
                unsafe { (self.api.$free)(self.ptr.as_ptr()) };
            }
        }

        impl $name {
            fn raw(&self) -> $raw {
                self.ptr.as_ptr()
            }

            pub fn name(&self) -> Res<String> {
                // SAFETY: a live handle; the name belongs to it and is copied while it lives.
                let p = unsafe { (self.api.$get_name)(self.raw()) };
                if p.is_null() {
                    return Err(Error::last(self.api));
                }
                // SAFETY: non-null and NUL-terminated.
                Ok(unsafe { borrowed_string(p) })
            }

            pub fn xml_desc(&self, flags: u32) -> Res<String> {
                // SAFETY: a live handle; the result is checked, then owned by the caller.
                let p = non_null(self.api, unsafe { (self.api.$get_xml)(self.raw(), flags) })?;
                // SAFETY: a string allocated for the caller.
                Ok(unsafe { take_string(p.as_ptr()) })
            }

            pub fn autostart(&self) -> Res<bool> {
                let mut on: c_int = 0;
                // SAFETY: a live handle and a place for the flag.
                status(self.api, unsafe { (self.api.$get_auto)(self.raw(), &mut on) })?;
                Ok(on == 1)
            }

            pub fn set_autostart(&self, on: bool) -> Res<()> {
                // SAFETY: a live handle.
                status(self.api, unsafe {
                    (self.api.$set_auto)(self.raw(), c_int::from(on))
                })
                .map(|_| ())
            }

            pub fn is_active(&self) -> Res<bool> {
                // SAFETY: a live handle.
                status(self.api, unsafe { (self.api.$is_active)(self.raw()) }).map(|r| r == 1)
            }

            pub fn create(&self) -> Res<()> {
                // SAFETY: a live handle.
                status(self.api, unsafe { (self.api.$create)(self.raw()) }).map(|_| ())
            }

            pub fn destroy(&self) -> Res<()> {
                // SAFETY: a live handle.
                status(self.api, unsafe { (self.api.$destroy)(self.raw()) }).map(|_| ())
            }
        }
    };
}

handle!(
    /// A domain (`virDomainPtr`).
    Domain(Dom) {
        free: domain_free,
        name: domain_get_name,
        xml_desc: domain_get_xml_desc,
        autostart: domain_get_autostart,
        set_autostart: domain_set_autostart,
        is_active: domain_is_active,
        create: domain_create,
        destroy: domain_destroy,
    }
);

handle!(
    /// A network (`virNetworkPtr`).
    Network(Net) {
        free: network_free,
        name: network_get_name,
        xml_desc: network_get_xml_desc,
        autostart: network_get_autostart,
        set_autostart: network_set_autostart,
        is_active: network_is_active,
        create: network_create,
        destroy: network_destroy,
    }
);

impl Domain {
    /// The run state (`virDomainGetInfo`'s `state`): see [`state_word`].
    pub fn state(&self) -> Res<u8> {
        let mut i = std::mem::MaybeUninit::<VirDomainInfo>::zeroed();
        // SAFETY: a live domain and room for a virDomainInfo.
        status(self.api, unsafe {
            (self.api.domain_get_info)(self.raw(), i.as_mut_ptr())
        })?;
        // SAFETY: zeroed, then filled by libvirt.
        Ok(unsafe { i.assume_init() }.state)
    }

    /// The memory the domain uses now, in KiB (`virDomainGetInfo`'s `memory`).
    pub fn memory_kib(&self) -> Res<u64> {
        let mut i = std::mem::MaybeUninit::<VirDomainInfo>::zeroed();
        // SAFETY: a live domain and room for a virDomainInfo.
        status(self.api, unsafe {
            (self.api.domain_get_info)(self.raw(), i.as_mut_ptr())
        })?;
        // SAFETY: zeroed, then filled by libvirt. c_ulong: u64 here, u32 on 32-bit targets.
        #[allow(clippy::useless_conversion)]
        Ok(u64::from(unsafe { i.assume_init() }.memory))
    }

    /// The resident memory of a running domain's QEMU process in KiB (what of the guest's
    /// memory it touched), when libvirt reports it (`virDomainMemoryStats`).
    pub fn resident_kib(&self) -> Res<Option<u64>> {
        let mut stats = [VirDomainMemoryStat { tag: -1, val: 0 }; MEMORY_STATS];
        // SAFETY: a live domain and room for MEMORY_STATS entries, of which libvirt fills at
        // most that many and returns how many.
        let n = status(self.api, unsafe {
            (self.api.domain_memory_stats)(
                self.raw(),
                stats.as_mut_ptr(),
                MEMORY_STATS as c_uint,
                0,
            )
        })?;
        Ok(stats
            .iter()
            .take(usize::try_from(n).unwrap_or(0).min(MEMORY_STATS))
            .find(|s| s.tag == VIR_DOMAIN_MEMORY_STAT_RSS)
            .map(|s| s.val))
    }

    pub fn shutdown(&self) -> Res<()> {
        // SAFETY: a live domain.
        status(self.api, unsafe { (self.api.domain_shutdown)(self.raw()) }).map(|_| ())
    }

    /// Pauses the domain's vCPUs (`virDomainSuspend`).
    pub fn suspend(&self) -> Res<()> {
        // SAFETY: a live domain.
        status(self.api, unsafe { (self.api.domain_suspend)(self.raw()) }).map(|_| ())
    }

    /// Lets a paused domain run again (`virDomainResume`).
    pub fn resume(&self) -> Res<()> {
        // SAFETY: a live domain.
        status(self.api, unsafe { (self.api.domain_resume)(self.raw()) }).map(|_| ())
    }

    fn snapshot(&self, p: Snap) -> Res<Snapshot> {
        Ok(Snapshot {
            api: self.api,
            ptr: non_null(self.api, p)?,
        })
    }

    /// Takes a snapshot as `xml` (a `<domainsnapshot>`) describes it
    /// (`virDomainSnapshotCreateXML`).
    pub fn snapshot_create_xml(&self, xml: &str, flags: u32) -> Res<Snapshot> {
        let xml = cstring("the snapshot XML", xml)?;
        // SAFETY: a live domain and NUL-terminated XML; the result is checked.
        let p = unsafe { (self.api.snapshot_create_xml)(self.raw(), xml.as_ptr(), flags) };
        self.snapshot(p)
    }

    /// The domain's snapshot `name` (`virDomainSnapshotLookupByName`).
    pub fn snapshot_lookup(&self, name: &str) -> Res<Snapshot> {
        let name = cstring("the snapshot name", name)?;
        // SAFETY: a live domain and a NUL-terminated name; the result is checked.
        let p = unsafe { (self.api.snapshot_lookup_by_name)(self.raw(), name.as_ptr(), 0) };
        self.snapshot(p)
    }

    pub fn undefine_flags(&self, flags: u32) -> Res<()> {
        // SAFETY: a live domain.
        status(self.api, unsafe {
            (self.api.domain_undefine_flags)(self.raw(), flags)
        })
        .map(|_| ())
    }
}

/// A domain's snapshot (`virDomainSnapshotPtr`).
pub struct Snapshot {
    api: &'static Api,
    ptr: NonNull<c_void>,
}

// SAFETY: see the module's notes (the `virt` crate 0.5 marks DomainSnapshot so too:
// src/domain_snapshot.rs).
unsafe impl Send for Snapshot {}
// SAFETY: as above.
unsafe impl Sync for Snapshot {}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: this handle's reference, released once.
        unsafe { (self.api.snapshot_free)(self.ptr.as_ptr()) };
    }
}

impl Snapshot {
    fn raw(&self) -> Snap {
        self.ptr.as_ptr()
    }

    pub fn xml_desc(&self) -> Res<String> {
        // SAFETY: a live handle; the result is checked, then owned by the caller.
        let p = non_null(self.api, unsafe {
            (self.api.snapshot_get_xml_desc)(self.raw(), 0)
        })?;
        // SAFETY: a string allocated for the caller.
        Ok(unsafe { take_string(p.as_ptr()) })
    }

    /// Brings the domain back to this snapshot (`virDomainRevertToSnapshot`).
    pub fn revert(&self, flags: u32) -> Res<()> {
        // SAFETY: a live handle.
        status(self.api, unsafe {
            (self.api.snapshot_revert)(self.raw(), flags)
        })
        .map(|_| ())
    }

    /// Deletes this snapshot, its data and libvirt's record of it (`virDomainSnapshotDelete`).
    pub fn delete(&self) -> Res<()> {
        // SAFETY: a live handle.
        status(self.api, unsafe {
            (self.api.snapshot_delete)(self.raw(), 0)
        })
        .map(|_| ())
    }
}

impl Network {
    /// `virNetworkUpdate`: `command` on `section` with the XML snippet `xml`.
    pub fn update(
        &self,
        command: u32,
        section: u32,
        parent_index: i32,
        xml: &str,
        flags: u32,
    ) -> Res<()> {
        let xml = cstring("the network update XML", xml)?;
        // SAFETY: a live network and NUL-terminated XML.
        status(self.api, unsafe {
            (self.api.network_update)(
                self.raw(),
                command,
                section,
                parent_index,
                xml.as_ptr(),
                flags,
            )
        })
        .map(|_| ())
    }

    pub fn undefine(&self) -> Res<()> {
        // SAFETY: a live network.
        status(self.api, unsafe { (self.api.network_undefine)(self.raw()) }).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_named_with_what_to_install() {
        let e = open(c"libvirt-labsh-missing.so.0").expect_err("no such library");
        assert!(
            e.message().starts_with(
                "cannot load libvirt-labsh-missing.so.0 (cannot open shared object file"
            ),
            "{e}"
        );
        assert!(e.message().contains("libvirt0 on Debian"), "{e}");
    }

    #[test]
    fn state_words_are_libvirts() {
        assert_eq!(state_word(1), "running");
        assert_eq!(state_word(5), "shutoff");
        assert_eq!(state_word(7), "pmsuspended");
        assert_eq!(state_word(9), "state 9");
    }

    /// The test driver's stock host, through every kind of call this module makes.
    #[test]
    fn the_test_driver_answers_through_the_loader() {
        let c = match Connect::open("test:///default") {
            Ok(c) => c,
            // A machine without libvirt: the load's error names the library.
            Err(e) => {
                assert!(e.message().contains("libvirt"), "{}", e.message());
                return;
            }
        };
        let n = c.node_info().expect("node info");
        assert_eq!(n.cpus, 16);
        assert!(!n.model.is_empty());
        assert!(c.capabilities().expect("caps").contains("<capabilities>"));
        let doms = c.list_all_domains(0).expect("domains");
        let names: Vec<String> = doms.iter().map(|d| d.name().expect("name")).collect();
        assert_eq!(names, vec!["test"]);
        let d = c.lookup_domain_by_name("test").expect("lookup");
        assert_eq!(state_word(d.state().expect("state")), "running");
        assert!(d.is_active().expect("active"));
        assert!(d
            .xml_desc(VIR_DOMAIN_XML_INACTIVE)
            .expect("xml")
            .contains("<name>test</name>"));
        let e = c
            .lookup_domain_by_name("nope")
            .err()
            .expect("no such domain");
        assert!(e.is_not_found(), "{e:?}");
        let e = c
            .lookup_network_by_name("nope")
            .err()
            .expect("no such network");
        assert!(e.is_not_found(), "{e:?}");
        let e = c.lookup_domain_by_name("a\0b").err().expect("NUL refused");
        assert!(!e.is_not_found() && e.message().contains("NUL"));
        let net = c
            .lookup_network_by_name("default")
            .expect("default network");
        assert_eq!(net.name().expect("name"), "default");
        assert!(net.is_active().expect("active"));
        assert!(net.xml_desc(0).expect("xml").contains("<range"));
        let nets = c.list_all_networks(0).expect("networks");
        assert_eq!(nets.len(), 1);
        let bad = c
            .define_domain_xml("<domain")
            .err()
            .expect("bad XML refused");
        assert!(!bad.message().is_empty());
    }
}
