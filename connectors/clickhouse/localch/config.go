package localch

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// layout names every path the server may write to, so a data directory is
// self-contained: deleting it removes the whole server, nothing leaks into
// /var/lib/clickhouse or /etc.
type layout struct {
	Dir           string
	Data          string
	Tmp           string
	UserFiles     string
	FormatSchemas string
	Logs          string
	Config        string
	Users         string
	State         string
	Lock          string
	Stderr        string
	ErrorLog      string
	NativePort    int
	HTTPPort      int
}

func newLayout(dir string) layout {
	return layout{
		Dir:           dir,
		Data:          filepath.Join(dir, "data"),
		Tmp:           filepath.Join(dir, "tmp"),
		UserFiles:     filepath.Join(dir, "user_files"),
		FormatSchemas: filepath.Join(dir, "format_schemas"),
		Logs:          filepath.Join(dir, "logs"),
		Config:        filepath.Join(dir, "config.xml"),
		Users:         filepath.Join(dir, "users.xml"),
		State:         filepath.Join(dir, "server.json"),
		Lock:          filepath.Join(dir, ".lock"),
		Stderr:        filepath.Join(dir, "logs", "stderr.log"),
		ErrorLog:      filepath.Join(dir, "logs", "clickhouse-server.err.log"),
	}
}

// The root element is <yandex>, the one 18.16 ships and documents. Current
// releases read the root through Poco without looking at its name, and their
// ConfigProcessor::merge treats <yandex> and <clickhouse> as equivalent, so
// one file serves both.
//
// Keys only current releases read (access_control_path,
// max_server_memory_usage_to_ram_ratio) are plain server keys, which 18.16
// never looks up and therefore ignores.
var configXML = template.Must(template.New("config.xml").Funcs(template.FuncMap{"x": xmlText}).Parse(`<?xml version="1.0"?>
<!-- Written by erpflow (connectors/clickhouse/localch) on every start: edit the template, not this file. -->
<yandex>
    <logger>
        <level>information</level>
        <log>{{x .Logs}}/clickhouse-server.log</log>
        <errorlog>{{x .ErrorLog}}</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>

    <!-- A developer's server: reachable from this machine only. -->
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{{.NativePort}}</tcp_port>
    <http_port>{{.HTTPPort}}</http_port>

    <path>{{x .Data}}/</path>
    <tmp_path>{{x .Tmp}}/</tmp_path>
    <user_files_path>{{x .UserFiles}}/</user_files_path>
    <format_schema_path>{{x .FormatSchemas}}/</format_schema_path>
    <access_control_path>{{x .Data}}/access/</access_control_path>
    <users_config>{{x .Users}}</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>

    <!-- erpflow stores UTC; a server zone would shift DateTime text. -->
    <timezone>UTC</timezone>

    <!-- Laptop-sized: the packaged defaults (5 GiB mark cache, 8 GiB
         uncompressed cache) assume a dedicated machine. -->
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_server_memory_usage_to_ram_ratio>0.5</max_server_memory_usage_to_ram_ratio>
    <max_concurrent_queries>100</max_concurrent_queries>

    <!-- Kafka table engines (used by the benchmark that compares erpflow
         with them) start from the oldest offset, so a consumer created after
         the producer misses nothing; a deeper librdkafka queue is the one
         setting that made them faster here (about 1.6x). -->
    <kafka>
        <auto_offset_reset>smallest</auto_offset_reset>
        <queued_min_messages>1000000</queued_min_messages>
    </kafka>
</yandex>
`))

// allow_databases confines erpflow. On 18.16 (Context::checkDatabaseAccessRights)
// it is checked for every database a query names, "system" excepted, and it
// covers CREATE and DROP DATABASE of the listed name, so the user can create
// erpflow itself. The session's current database is not checked when the
// client names none (the server's "default" is used), but naming "default"
// explicitly is refused, and 18.16 then drops the connection, which clients
// report as "Attempt to read after eof". So bootstrap connects without a
// database and runs CREATE DATABASE IF NOT EXISTS erpflow. Current releases
// turn the list into every database-level grant on erpflow, CREATE DATABASE
// included (UsersConfigAccessStorage).
var usersXML = template.Must(template.New("users.xml").Parse(`<?xml version="1.0"?>
<!-- Written by erpflow (connectors/clickhouse/localch) on every start: edit the template, not this file. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
        </default>
        <!-- Its own profile so pipeline limits can change without touching
             interactive users. -->
        <erpflow>
            <max_memory_usage>4000000000</max_memory_usage>
        </erpflow>
        <!-- readonly=1: SELECT and SHOW only, and no changing settings, so an
             ad hoc query cannot alter data or lift its own limits. -->
        <analyst>
            <readonly>1</readonly>
            <max_memory_usage>2000000000</max_memory_usage>
        </analyst>
    </profiles>

    <users>
        <!-- default: what clickhouse-client uses when given no user, kept
             all-powerful for a developer poking at a local server. -->
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
            <access_management>1</access_management>
        </default>

        <!-- erpflow: the pipeline's user. It creates and fills its own
             database and nothing else, so a bug in the pipeline cannot reach
             other data. No password: it listens on loopback only. -->
        <erpflow>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>erpflow</profile>
            <quota>default</quota>
            <allow_databases>
                <database>erpflow</database>
            </allow_databases>
        </erpflow>

        <!-- analyst: read-only SQL for people and Grafana boards. -->
        <analyst>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>analyst</profile>
            <quota>default</quota>
        </analyst>
    </users>

    <quotas>
        <!-- Counts usage, limits nothing. -->
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`))

func xmlText(s string) (string, error) {
	var b bytes.Buffer
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// writeConfig rewrites both files on every start so a changed template takes
// effect without the user deleting anything. It makes the directories itself
// rather than rely on each server version making the ones it needs.
func writeConfig(l layout) error {
	for _, d := range []string{l.Data, l.Tmp, l.UserFiles, l.FormatSchemas, l.Logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("write config: %w", err)
		}
	}
	for _, f := range []struct {
		path string
		tmpl *template.Template
	}{{l.Config, configXML}, {l.Users, usersXML}} {
		var b bytes.Buffer
		if err := f.tmpl.Execute(&b, l); err != nil {
			return fmt.Errorf("write config: render %s: %w", filepath.Base(f.path), err)
		}
		if err := os.WriteFile(f.path, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write config: %w", err)
		}
	}
	return nil
}
