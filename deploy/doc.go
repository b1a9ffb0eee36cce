// Package deploy holds the deployment files of Dezky: the container build
// (Dockerfile), a complete local stack for Docker Compose (compose/) and
// plain Kubernetes manifests (kubernetes/). It has no code; its tests
// validate the files offline: every Kubernetes manifest decodes strictly
// into the Kubernetes API types and keeps the invariants production
// relies on, and the compose file is valid against the Compose
// Specification's JSON schema kept in schema/.
package deploy
