// demo-http answers every request with the greeting of the seed's ksahnine/dummy-http image:
// "Hi! I'm [NAME] service and my Docker container's IP is [IP]".
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
)

func containerIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "unknown"
	}
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && !ipnet.IP.IsLoopback() && ipnet.IP.To4() != nil {
			return ipnet.IP.String()
		}
	}
	return "unknown"
}

func main() {
	name := os.Getenv("SERVICE_NAME")
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	if name == "" {
		name = "demo"
	}
	listen := os.Getenv("LISTEN")
	if listen == "" {
		listen = ":8080"
	}
	greeting := fmt.Sprintf("Hi! I'm [%s] service and my Docker container's IP is [%s]\n", name, containerIP())
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, greeting)
	})
	// LISTEN may name several addresses (":80,:443") so one image can stand in for a
	// container that exposes several ports.
	addrs := strings.Split(listen, ",")
	for _, addr := range addrs[1:] {
		go func(addr string) { log.Fatal(http.ListenAndServe(addr, nil)) }(addr)
	}
	log.Printf("%s listening on %s", name, listen)
	log.Fatal(http.ListenAndServe(addrs[0], nil))
}
