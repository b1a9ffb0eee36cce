package host

import (
	"context"

	"github.com/dezky/platform/plugins/sdk"
)

// The proxies route each call through invoke: breaker, liveness check,
// per-call deadline, latency and outcome bookkeeping. They hold no
// connection, so they stay valid across plugin restarts.

type providerProxy struct{ in *instance }

var _ sdk.Provider = providerProxy{}

func (p providerProxy) Describe(ctx context.Context) (sdk.Description, error) {
	return invoke(ctx, p.in, "Describe", func(ctx context.Context, r sdk.Remote) (sdk.Description, error) { return r.Describe(ctx) })
}

func (p providerProxy) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	_, err := invoke(ctx, p.in, "Configure", func(ctx context.Context, r sdk.Remote) (struct{}, error) { return struct{}{}, r.Configure(ctx, req) })
	return err
}

func (p providerProxy) Health(ctx context.Context) (sdk.HealthStatus, error) {
	return invoke(ctx, p.in, "Health", func(ctx context.Context, r sdk.Remote) (sdk.HealthStatus, error) { return r.Health(ctx) })
}

type identityProxy struct{ in *instance }

var _ sdk.Identity = identityProxy{}

func (p identityProxy) EnsureGroup(ctx context.Context, req sdk.EnsureGroupRequest) (sdk.Group, error) {
	return invoke(ctx, p.in, "EnsureGroup", func(ctx context.Context, r sdk.Remote) (sdk.Group, error) { return r.EnsureGroup(ctx, req) })
}

func (p identityProxy) CreateUser(ctx context.Context, req sdk.CreateUserRequest) (sdk.User, error) {
	return invoke(ctx, p.in, "CreateUser", func(ctx context.Context, r sdk.Remote) (sdk.User, error) { return r.CreateUser(ctx, req) })
}

func (p identityProxy) GetUser(ctx context.Context, userID string) (sdk.User, error) {
	return invoke(ctx, p.in, "GetUser", func(ctx context.Context, r sdk.Remote) (sdk.User, error) { return r.GetUser(ctx, userID) })
}

func (p identityProxy) UpdateUser(ctx context.Context, req sdk.UpdateUserRequest) (sdk.User, error) {
	return invoke(ctx, p.in, "UpdateUser", func(ctx context.Context, r sdk.Remote) (sdk.User, error) { return r.UpdateUser(ctx, req) })
}

func (p identityProxy) DeleteUser(ctx context.Context, userID string) error {
	_, err := invoke(ctx, p.in, "DeleteUser", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.DeleteUser(ctx, userID)
	})
	return err
}

func (p identityProxy) SetPassword(ctx context.Context, req sdk.SetPasswordRequest) error {
	_, err := invoke(ctx, p.in, "SetPassword", func(ctx context.Context, r sdk.Remote) (struct{}, error) { return struct{}{}, r.SetPassword(ctx, req) })
	return err
}

func (p identityProxy) RecoveryLink(ctx context.Context, userID string) (sdk.RecoveryLink, error) {
	return invoke(ctx, p.in, "RecoveryLink", func(ctx context.Context, r sdk.Remote) (sdk.RecoveryLink, error) { return r.RecoveryLink(ctx, userID) })
}

func (p identityProxy) AddGroupMember(ctx context.Context, groupID, userID string) error {
	_, err := invoke(ctx, p.in, "AddGroupMember", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.AddGroupMember(ctx, groupID, userID)
	})
	return err
}

func (p identityProxy) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	_, err := invoke(ctx, p.in, "RemoveGroupMember", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.RemoveGroupMember(ctx, groupID, userID)
	})
	return err
}

func (p identityProxy) TerminateSessions(ctx context.Context, userID string) (int, error) {
	return invoke(ctx, p.in, "TerminateSessions", func(ctx context.Context, r sdk.Remote) (int, error) { return r.TerminateSessions(ctx, userID) })
}

func (p identityProxy) CountAuthenticators(ctx context.Context, userID string) (sdk.AuthenticatorCount, error) {
	return invoke(ctx, p.in, "CountAuthenticators", func(ctx context.Context, r sdk.Remote) (sdk.AuthenticatorCount, error) {
		return r.CountAuthenticators(ctx, userID)
	})
}

func (p identityProxy) CreateOIDCApp(ctx context.Context, req sdk.CreateOIDCAppRequest) (sdk.OIDCApp, error) {
	return invoke(ctx, p.in, "CreateOIDCApp", func(ctx context.Context, r sdk.Remote) (sdk.OIDCApp, error) { return r.CreateOIDCApp(ctx, req) })
}

func (p identityProxy) DeleteOIDCApp(ctx context.Context, appID string) error {
	_, err := invoke(ctx, p.in, "DeleteOIDCApp", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.DeleteOIDCApp(ctx, appID)
	})
	return err
}

func (p identityProxy) EnsureRecoveryFlow(ctx context.Context) (sdk.RecoveryFlow, error) {
	return invoke(ctx, p.in, "EnsureRecoveryFlow", func(ctx context.Context, r sdk.Remote) (sdk.RecoveryFlow, error) { return r.EnsureRecoveryFlow(ctx) })
}

func (p identityProxy) ListEvents(ctx context.Context, req sdk.ListEventsRequest) (sdk.EventPage, error) {
	return invoke(ctx, p.in, "ListEvents", func(ctx context.Context, r sdk.Remote) (sdk.EventPage, error) { return r.ListEvents(ctx, req) })
}

type mailProxy struct{ in *instance }

var _ sdk.Mail = mailProxy{}

func (p mailProxy) CreateDomain(ctx context.Context, req sdk.CreateDomainRequest) (sdk.Domain, error) {
	return invoke(ctx, p.in, "CreateDomain", func(ctx context.Context, r sdk.Remote) (sdk.Domain, error) { return r.CreateDomain(ctx, req) })
}

func (p mailProxy) ListDomains(ctx context.Context) ([]sdk.Domain, error) {
	return invoke(ctx, p.in, "ListDomains", func(ctx context.Context, r sdk.Remote) ([]sdk.Domain, error) { return r.ListDomains(ctx) })
}

func (p mailProxy) GetDomain(ctx context.Context, name string) (sdk.Domain, error) {
	return invoke(ctx, p.in, "GetDomain", func(ctx context.Context, r sdk.Remote) (sdk.Domain, error) { return r.GetDomain(ctx, name) })
}

func (p mailProxy) DeleteDomain(ctx context.Context, name string) error {
	_, err := invoke(ctx, p.in, "DeleteDomain", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.DeleteDomain(ctx, name)
	})
	return err
}

func (p mailProxy) SetDMARCPolicy(ctx context.Context, req sdk.SetDMARCPolicyRequest) (sdk.DNSRecord, error) {
	return invoke(ctx, p.in, "SetDMARCPolicy", func(ctx context.Context, r sdk.Remote) (sdk.DNSRecord, error) { return r.SetDMARCPolicy(ctx, req) })
}

func (p mailProxy) CreateMailbox(ctx context.Context, req sdk.CreateMailboxRequest) (sdk.Mailbox, error) {
	return invoke(ctx, p.in, "CreateMailbox", func(ctx context.Context, r sdk.Remote) (sdk.Mailbox, error) { return r.CreateMailbox(ctx, req) })
}

func (p mailProxy) GetMailbox(ctx context.Context, address string) (sdk.Mailbox, error) {
	return invoke(ctx, p.in, "GetMailbox", func(ctx context.Context, r sdk.Remote) (sdk.Mailbox, error) { return r.GetMailbox(ctx, address) })
}

func (p mailProxy) DeleteMailbox(ctx context.Context, address string) error {
	_, err := invoke(ctx, p.in, "DeleteMailbox", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.DeleteMailbox(ctx, address)
	})
	return err
}

func (p mailProxy) FreezeMailbox(ctx context.Context, address string) error {
	_, err := invoke(ctx, p.in, "FreezeMailbox", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.FreezeMailbox(ctx, address)
	})
	return err
}

func (p mailProxy) UnfreezeMailbox(ctx context.Context, address string) error {
	_, err := invoke(ctx, p.in, "UnfreezeMailbox", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.UnfreezeMailbox(ctx, address)
	})
	return err
}

func (p mailProxy) SetMailboxPassword(ctx context.Context, address, password string) error {
	_, err := invoke(ctx, p.in, "SetMailboxPassword", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.SetMailboxPassword(ctx, address, password)
	})
	return err
}

func (p mailProxy) ParseMailWebhook(ctx context.Context, hook sdk.Webhook) ([]sdk.MailEvent, error) {
	return invoke(ctx, p.in, "ParseMailWebhook", func(ctx context.Context, r sdk.Remote) ([]sdk.MailEvent, error) { return r.ParseMailWebhook(ctx, hook) })
}

type storageProxy struct{ in *instance }

var _ sdk.Storage = storageProxy{}

func (p storageProxy) EnsureSpace(ctx context.Context, req sdk.EnsureSpaceRequest) (sdk.Space, error) {
	return invoke(ctx, p.in, "EnsureSpace", func(ctx context.Context, r sdk.Remote) (sdk.Space, error) { return r.EnsureSpace(ctx, req) })
}

func (p storageProxy) GetUsage(ctx context.Context, spaceID string) (sdk.Usage, error) {
	return invoke(ctx, p.in, "GetUsage", func(ctx context.Context, r sdk.Remote) (sdk.Usage, error) { return r.GetUsage(ctx, spaceID) })
}

func (p storageProxy) SetQuota(ctx context.Context, spaceID string, quotaBytes int64) error {
	_, err := invoke(ctx, p.in, "SetQuota", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.SetQuota(ctx, spaceID, quotaBytes)
	})
	return err
}

func (p storageProxy) DisableSpace(ctx context.Context, spaceID string) error {
	_, err := invoke(ctx, p.in, "DisableSpace", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.DisableSpace(ctx, spaceID)
	})
	return err
}

func (p storageProxy) DeleteSpace(ctx context.Context, spaceID string) error {
	_, err := invoke(ctx, p.in, "DeleteSpace", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.DeleteSpace(ctx, spaceID)
	})
	return err
}

func (p storageProxy) CreateStorageUser(ctx context.Context, req sdk.CreateStorageUserRequest) (sdk.StorageUser, error) {
	return invoke(ctx, p.in, "CreateStorageUser", func(ctx context.Context, r sdk.Remote) (sdk.StorageUser, error) { return r.CreateStorageUser(ctx, req) })
}

func (p storageProxy) DeleteStorageUser(ctx context.Context, userID string) error {
	_, err := invoke(ctx, p.in, "DeleteStorageUser", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.DeleteStorageUser(ctx, userID)
	})
	return err
}

func (p storageProxy) ReadAuditLog(ctx context.Context, req sdk.ReadAuditLogRequest) (sdk.AuditLogPage, error) {
	return invoke(ctx, p.in, "ReadAuditLog", func(ctx context.Context, r sdk.Remote) (sdk.AuditLogPage, error) { return r.ReadAuditLog(ctx, req) })
}

type dnsProxy struct{ in *instance }

var _ sdk.DNS = dnsProxy{}

func (p dnsProxy) Lookup(ctx context.Context, req sdk.LookupRequest) (sdk.LookupResult, error) {
	return invoke(ctx, p.in, "Lookup", func(ctx context.Context, r sdk.Remote) (sdk.LookupResult, error) { return r.Lookup(ctx, req) })
}

func (p dnsProxy) UpsertRecord(ctx context.Context, req sdk.RecordChange) error {
	_, err := invoke(ctx, p.in, "UpsertRecord", func(ctx context.Context, r sdk.Remote) (struct{}, error) { return struct{}{}, r.UpsertRecord(ctx, req) })
	return err
}

func (p dnsProxy) DeleteRecord(ctx context.Context, req sdk.RecordChange) error {
	_, err := invoke(ctx, p.in, "DeleteRecord", func(ctx context.Context, r sdk.Remote) (struct{}, error) { return struct{}{}, r.DeleteRecord(ctx, req) })
	return err
}

type billingProxy struct{ in *instance }

var (
	_ sdk.Billing        = billingProxy{}
	_ sdk.PaymentMethods = billingProxy{}
)

func (p billingProxy) GetPaymentMethod(ctx context.Context, customerID, paymentMethodID string) (sdk.Card, error) {
	return invoke(ctx, p.in, "GetPaymentMethod", func(ctx context.Context, r sdk.Remote) (sdk.Card, error) {
		return r.GetPaymentMethod(ctx, customerID, paymentMethodID)
	})
}

func (p billingProxy) EnsureCustomer(ctx context.Context, req sdk.EnsureCustomerRequest) (sdk.Customer, error) {
	return invoke(ctx, p.in, "EnsureCustomer", func(ctx context.Context, r sdk.Remote) (sdk.Customer, error) { return r.EnsureCustomer(ctx, req) })
}

func (p billingProxy) EnsurePrice(ctx context.Context, req sdk.EnsurePriceRequest) (sdk.Price, error) {
	return invoke(ctx, p.in, "EnsurePrice", func(ctx context.Context, r sdk.Remote) (sdk.Price, error) { return r.EnsurePrice(ctx, req) })
}

func (p billingProxy) CreateSubscription(ctx context.Context, req sdk.CreateSubscriptionRequest) (sdk.Subscription, error) {
	return invoke(ctx, p.in, "CreateSubscription", func(ctx context.Context, r sdk.Remote) (sdk.Subscription, error) {
		return r.CreateSubscription(ctx, req)
	})
}

func (p billingProxy) GetSubscription(ctx context.Context, subscriptionID string) (sdk.Subscription, error) {
	return invoke(ctx, p.in, "GetSubscription", func(ctx context.Context, r sdk.Remote) (sdk.Subscription, error) {
		return r.GetSubscription(ctx, subscriptionID)
	})
}

func (p billingProxy) UpdateSubscriptionQuantity(ctx context.Context, subscriptionID string, quantity int64) (sdk.Subscription, error) {
	return invoke(ctx, p.in, "UpdateSubscriptionQuantity", func(ctx context.Context, r sdk.Remote) (sdk.Subscription, error) {
		return r.UpdateSubscriptionQuantity(ctx, subscriptionID, quantity)
	})
}

func (p billingProxy) PauseSubscription(ctx context.Context, subscriptionID string) (sdk.Subscription, error) {
	return invoke(ctx, p.in, "PauseSubscription", func(ctx context.Context, r sdk.Remote) (sdk.Subscription, error) {
		return r.PauseSubscription(ctx, subscriptionID)
	})
}

func (p billingProxy) ResumeSubscription(ctx context.Context, subscriptionID string) (sdk.Subscription, error) {
	return invoke(ctx, p.in, "ResumeSubscription", func(ctx context.Context, r sdk.Remote) (sdk.Subscription, error) {
		return r.ResumeSubscription(ctx, subscriptionID)
	})
}

func (p billingProxy) CancelSubscription(ctx context.Context, subscriptionID string) (sdk.Subscription, error) {
	return invoke(ctx, p.in, "CancelSubscription", func(ctx context.Context, r sdk.Remote) (sdk.Subscription, error) {
		return r.CancelSubscription(ctx, subscriptionID)
	})
}

func (p billingProxy) MoveSubscriptionPrice(ctx context.Context, subscriptionID, priceID string) (sdk.Subscription, error) {
	return invoke(ctx, p.in, "MoveSubscriptionPrice", func(ctx context.Context, r sdk.Remote) (sdk.Subscription, error) {
		return r.MoveSubscriptionPrice(ctx, subscriptionID, priceID)
	})
}

func (p billingProxy) CreateSetupIntent(ctx context.Context, customerID string) (sdk.SetupIntent, error) {
	return invoke(ctx, p.in, "CreateSetupIntent", func(ctx context.Context, r sdk.Remote) (sdk.SetupIntent, error) {
		return r.CreateSetupIntent(ctx, customerID)
	})
}

func (p billingProxy) SetDefaultPaymentMethod(ctx context.Context, customerID, paymentMethodID string) error {
	_, err := invoke(ctx, p.in, "SetDefaultPaymentMethod", func(ctx context.Context, r sdk.Remote) (struct{}, error) {
		return struct{}{}, r.SetDefaultPaymentMethod(ctx, customerID, paymentMethodID)
	})
	return err
}

func (p billingProxy) ListInvoices(ctx context.Context, req sdk.ListInvoicesRequest) (sdk.InvoicePage, error) {
	return invoke(ctx, p.in, "ListInvoices", func(ctx context.Context, r sdk.Remote) (sdk.InvoicePage, error) { return r.ListInvoices(ctx, req) })
}

func (p billingProxy) ParseBillingWebhook(ctx context.Context, hook sdk.Webhook) ([]sdk.BillingEvent, error) {
	return invoke(ctx, p.in, "ParseBillingWebhook", func(ctx context.Context, r sdk.Remote) ([]sdk.BillingEvent, error) {
		return r.ParseBillingWebhook(ctx, hook)
	})
}
