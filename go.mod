module github.com/openatp/openatp

go 1.26.8
