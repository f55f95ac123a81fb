module tslinux.test/gocheck

go 1.19
