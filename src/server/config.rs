//! TEMPORARY stand-in; replaced by the config chapter.
#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub hz: u32,
    pub databases: usize,
    pub requirepass: Option<Vec<u8>>,
    pub maxclients: u64,
    pub timeout: u64,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub latency_monitor_threshold: u64,
    pub activerehashing: bool,
    pub enable_debug_command: String,
    pub maxmemory: u64,
    pub active_expire_effort: u32,
    pub dynamic_hz: bool,
}
impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into(), "-::1".into()],
            hz: 10,
            databases: 16,
            requirepass: None,
            maxclients: 10000,
            timeout: 0,
            proto_max_bulk_len: 512 << 20,
            client_query_buffer_limit: 1 << 30,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            activerehashing: true,
            enable_debug_command: "no".into(),
            maxmemory: 0,
            active_expire_effort: 1,
            dynamic_hz: true,
        }
    }
}
impl Config {
    pub fn maxmemory_policy_name(&self) -> &'static str {
        "noeviction"
    }
    pub fn from_args(_args: &[String]) -> Result<Config, String> {
        Ok(Config::default())
    }
    pub fn config_get(&self, _p: &[&[u8]]) -> Vec<(String, String)> {
        vec![]
    }
    pub fn config_set(&mut self, _p: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        Ok(vec![])
    }
}
