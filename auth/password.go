package auth

import "golang.org/x/crypto/bcrypt"

// HashPassword returns the bcrypt hash under which a directory user's
// password is kept.
func HashPassword(password string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
}

// CheckPassword reports whether password matches a HashPassword hash.
func CheckPassword(hash []byte, password string) bool {
	return len(hash) > 0 && bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}
