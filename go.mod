module github.com/erpflow/erpflow

go 1.26

require github.com/valyala/fastjson v1.6.10 // indirect
