package config

import (
	"fmt"
)

// rawFile is the file as written; validator turns it into a Config.
type rawFile struct {
	Default stringList          `yaml:"default"`
	Agents  map[string]rawAgent `yaml:"agents"`
	Sets    map[string][]string `yaml:"sets"`
}

type rawAgent struct {
	URL      string               `yaml:"url"`
	DB       string               `yaml:"db"`
	Binding  string               `yaml:"binding"`
	Protocol string               `yaml:"protocol"`
	Headers  map[string]rawSecret `yaml:"headers"`
	Auth     *rawAuth             `yaml:"auth"`
	ReadOnly bool                 `yaml:"readOnly"`
	Color    string               `yaml:"color"`
}

type rawAuth struct {
	Bearer *rawSecret `yaml:"bearer"`
	APIKey *rawAPIKey `yaml:"apiKey"`
	OAuth2 *rawOAuth2 `yaml:"oauth2"`
	Cert   string     `yaml:"cert"`
	Key    string     `yaml:"key"`
}

type rawAPIKey struct {
	Name  string    `yaml:"name"`
	In    string    `yaml:"in"`
	Value rawSecret `yaml:"value"`
}

type rawOAuth2 struct {
	ClientID     string    `yaml:"clientId"`
	ClientSecret rawSecret `yaml:"clientSecret"`
	TokenURL     string    `yaml:"tokenUrl"`
	Scopes       []string  `yaml:"scopes"`
}

// rawSecret is either a plain string (allowed only where a value is not a
// credential) or a reference {env|file|command}.
type rawSecret struct {
	Secret
	literal bool
}

type secretRef struct {
	Env     string `yaml:"env"`
	File    string `yaml:"file"`
	Command string `yaml:"command"`
}

// UnmarshalYAML accepts a string or a reference object.
func (s *rawSecret) UnmarshalYAML(unmarshal func(any) error) error {
	var str string
	if err := unmarshal(&str); err == nil {
		s.Secret, s.literal = Secret{Value: str}, true
		return nil
	}
	var ref secretRef
	if err := unmarshal(&ref); err != nil {
		return fmt.Errorf("want a string or {env: NAME}, {file: PATH} or {command: CMD}: %w", err)
	}
	s.Secret = Secret{Env: ref.Env, File: ref.File, Command: ref.Command}
	return nil
}

// stringList accepts one name or a list of names.
type stringList []string

// UnmarshalYAML accepts "name" or [name, …].
func (l *stringList) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := unmarshal(&many); err != nil {
		return fmt.Errorf("want a name or a list of names: %w", err)
	}
	*l = many
	return nil
}
