package seclog

// OWASP is a name from the OWASP Application Logging Vocabulary
// (https://cheatsheetseries.owasp.org/cheatsheets/Logging_Vocabulary_Cheat_Sheet.html).
// Every event of the catalog maps to one, so that monitoring can key on the
// vocabulary across applications. Only the names below are accepted.
type OWASP string

// The vocabulary names used by the suite's events, and the others a later
// event may use. The catalog test rejects a name not in [Vocabulary].
const (
	AuthnLoginSuccess        OWASP = "authn_login_success"
	AuthnLoginSuccessAfter   OWASP = "authn_login_successafterfail"
	AuthnLoginFail           OWASP = "authn_login_fail"
	AuthnLoginFailMax        OWASP = "authn_login_fail_max"
	AuthnLoginLock           OWASP = "authn_login_lock"
	AuthnPasswordChange      OWASP = "authn_password_change"
	AuthnPasswordChangeFail  OWASP = "authn_password_change_fail"
	AuthnImpossibleTravel    OWASP = "authn_impossible_travel"
	AuthnTokenCreated        OWASP = "authn_token_created"
	AuthnTokenRevoked        OWASP = "authn_token_revoked"
	AuthnTokenReuse          OWASP = "authn_token_reuse"
	AuthnTokenDelete         OWASP = "authn_token_delete"
	AuthzFail                OWASP = "authz_fail"
	AuthzChange              OWASP = "authz_change"
	AuthzAdmin               OWASP = "authz_admin"
	ExcessRateLimitExceeded  OWASP = "excess_rate_limit_exceeded"
	InputValidationFail      OWASP = "input_validation_fail"
	MaliciousExcess404       OWASP = "malicious_excess_404"
	MaliciousExtraneous      OWASP = "malicious_extraneous"
	MaliciousAttackTool      OWASP = "malicious_attack_tool"
	MaliciousCORS            OWASP = "malicious_cors"
	MaliciousDirectReference OWASP = "malicious_direct_reference"
	PrivilegeChanged         OWASP = "privilege_permissions_changed"
	SensitiveCreate          OWASP = "sensitive_create"
	SensitiveRead            OWASP = "sensitive_read"
	SensitiveUpdate          OWASP = "sensitive_update"
	SensitiveDelete          OWASP = "sensitive_delete"
	SequenceFail             OWASP = "sequence_fail"
	SessionCreated           OWASP = "session_created"
	SessionRenewed           OWASP = "session_renewed"
	SessionExpired           OWASP = "session_expired"
	SessionUseAfterExpire    OWASP = "session_use_after_expire"
	SysStartup               OWASP = "sys_startup"
	SysShutdown              OWASP = "sys_shutdown"
	SysRestart               OWASP = "sys_restart"
	SysCrash                 OWASP = "sys_crash"
	SysMonitorDisabled       OWASP = "sys_monitor_disabled"
	SysMonitorEnabled        OWASP = "sys_monitor_enabled"
	UserCreated              OWASP = "user_created"
	UserUpdated              OWASP = "user_updated"
	UserArchived             OWASP = "user_archived"
	UserDeleted              OWASP = "user_deleted"
)

// Vocabulary lists every name of the OWASP Logging Vocabulary that an event
// may map to.
var Vocabulary = []OWASP{
	AuthnLoginSuccess, AuthnLoginSuccessAfter, AuthnLoginFail, AuthnLoginFailMax,
	AuthnLoginLock, AuthnPasswordChange, AuthnPasswordChangeFail,
	AuthnImpossibleTravel, AuthnTokenCreated, AuthnTokenRevoked, AuthnTokenReuse,
	AuthnTokenDelete, AuthzFail, AuthzChange, AuthzAdmin, ExcessRateLimitExceeded,
	InputValidationFail, MaliciousExcess404, MaliciousExtraneous,
	MaliciousAttackTool, MaliciousCORS, MaliciousDirectReference,
	PrivilegeChanged, SensitiveCreate, SensitiveRead, SensitiveUpdate,
	SensitiveDelete, SequenceFail, SessionCreated, SessionRenewed, SessionExpired,
	SessionUseAfterExpire, SysStartup, SysShutdown, SysRestart, SysCrash,
	SysMonitorDisabled, SysMonitorEnabled, UserCreated, UserUpdated,
	UserArchived, UserDeleted,
}
