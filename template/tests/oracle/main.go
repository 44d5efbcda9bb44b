package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

type Case struct {
	Name     string            `json:"name"`
	Template string            `json:"template"`
	Values   map[string]string `json:"values"` // base64
	Dialect  string            `json:"dialect"`
}

type Result struct {
	Name   string `json:"name"`
	Output string `json:"output"` // base64
	Text   string `json:"text"`
	Error  string `json:"error"`
}

func main() {
	var cases []Case
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	var results []Result
	for _, c := range cases {
		fm := sprig.TxtFuncMap()
		delete(fm, "env")
		delete(fm, "expandenv")
		delete(fm, "getHostByName")
		data := map[string]string{}
		for k, v := range c.Values {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				panic(err)
			}
			data[k] = string(b)
		}
		r := Result{Name: c.Name}
		t := template.New(c.Name).Funcs(fm)
		if c.Dialect == "eso" {
			t = t.Option("missingkey=error")
		}
		t, err := t.Parse(c.Template)
		if err != nil {
			r.Error = "parse: " + err.Error()
		} else {
			var buf bytes.Buffer
			if err := t.Execute(&buf, data); err != nil {
				r.Error = "exec: " + err.Error()
			} else {
				r.Output = base64.StdEncoding.EncodeToString(buf.Bytes())
				r.Text = buf.String()
			}
		}
		results = append(results, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(results)
}
