module github.com/pccagent/pccagent

go 1.26.8
