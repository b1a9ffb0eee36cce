package sdk

import (
	"context"

	pb "github.com/dezky/platform/plugins/proto/v2"
)

var _ pb.BillingServer = (*billingServer)(nil)

type billingServer struct {
	pb.UnimplementedBillingServer
	impl Billing
}

func subscriptionTo(s Subscription) *pb.Subscription {
	return &pb.Subscription{
		Id: s.ID, ExternalKey: s.ExternalKey, CustomerId: s.CustomerID, PriceId: s.PriceID, Quantity: s.Quantity,
		Status: s.Status, Paused: s.Paused, CurrentPeriodEnd: tsTo(s.CurrentPeriodEnd),
	}
}

func subscriptionFrom(s *pb.Subscription) Subscription {
	return Subscription{
		ID: s.GetId(), ExternalKey: s.GetExternalKey(), CustomerID: s.GetCustomerId(), PriceID: s.GetPriceId(),
		Quantity: s.GetQuantity(), Status: s.GetStatus(), Paused: s.GetPaused(), CurrentPeriodEnd: tsFrom(s.GetCurrentPeriodEnd()),
	}
}

func (s *billingServer) subscription(sub Subscription, err error) (*pb.Subscription, error) {
	if err != nil {
		return nil, err
	}
	return subscriptionTo(sub), nil
}

func (s *billingServer) EnsureCustomer(ctx context.Context, r *pb.EnsureCustomerRequest) (*pb.Customer, error) {
	c, err := s.impl.EnsureCustomer(ctx, EnsureCustomerRequest{
		ExternalKey: r.GetExternalKey(), Name: r.GetName(), Email: r.GetEmail(), Metadata: r.GetMetadata(),
		ReplaceDetails: r.GetReplaceDetails(), Country: r.GetCountry(), VATID: r.GetVatId(),
	})
	if err != nil {
		return nil, err
	}
	return &pb.Customer{Id: c.ID, ExternalKey: c.ExternalKey, Name: c.Name, Email: c.Email, DefaultPaymentMethod: c.DefaultPaymentMethod}, nil
}

func (s *billingServer) EnsurePrice(ctx context.Context, r *pb.EnsurePriceRequest) (*pb.Price, error) {
	p, err := s.impl.EnsurePrice(ctx, EnsurePriceRequest{
		ProductKey: r.GetProductKey(), ProductName: r.GetProductName(), Currency: r.GetCurrency(),
		UnitAmount: r.GetUnitAmount(), Interval: Interval(r.GetInterval()),
	})
	if err != nil {
		return nil, err
	}
	return &pb.Price{
		Id: p.ID, ProductId: p.ProductID, ProductKey: p.ProductKey, Currency: p.Currency,
		UnitAmount: p.UnitAmount, Interval: string(p.Interval),
	}, nil
}

func (s *billingServer) CreateSubscription(ctx context.Context, r *pb.CreateSubscriptionRequest) (*pb.Subscription, error) {
	return s.subscription(s.impl.CreateSubscription(ctx, CreateSubscriptionRequest{
		ExternalKey: r.GetExternalKey(), CustomerID: r.GetCustomerId(), PriceID: r.GetPriceId(),
		Quantity: r.GetQuantity(), SendInvoice: r.GetSendInvoice(), DaysUntilDue: int(r.GetDaysUntilDue()),
	}))
}

func (s *billingServer) GetSubscription(ctx context.Context, r *pb.IDRequest) (*pb.Subscription, error) {
	return s.subscription(s.impl.GetSubscription(ctx, r.GetId()))
}

func (s *billingServer) UpdateSubscriptionQuantity(ctx context.Context, r *pb.UpdateSubscriptionQuantityRequest) (*pb.Subscription, error) {
	return s.subscription(s.impl.UpdateSubscriptionQuantity(ctx, r.GetSubscriptionId(), r.GetQuantity()))
}

func (s *billingServer) PauseSubscription(ctx context.Context, r *pb.IDRequest) (*pb.Subscription, error) {
	return s.subscription(s.impl.PauseSubscription(ctx, r.GetId()))
}

func (s *billingServer) ResumeSubscription(ctx context.Context, r *pb.IDRequest) (*pb.Subscription, error) {
	return s.subscription(s.impl.ResumeSubscription(ctx, r.GetId()))
}

func (s *billingServer) CancelSubscription(ctx context.Context, r *pb.IDRequest) (*pb.Subscription, error) {
	return s.subscription(s.impl.CancelSubscription(ctx, r.GetId()))
}

func (s *billingServer) MoveSubscriptionPrice(ctx context.Context, r *pb.MoveSubscriptionPriceRequest) (*pb.Subscription, error) {
	return s.subscription(s.impl.MoveSubscriptionPrice(ctx, r.GetSubscriptionId(), r.GetPriceId()))
}

func (s *billingServer) CreateSetupIntent(ctx context.Context, r *pb.IDRequest) (*pb.SetupIntent, error) {
	si, err := s.impl.CreateSetupIntent(ctx, r.GetId())
	if err != nil {
		return nil, err
	}
	return &pb.SetupIntent{Id: si.ID, ClientSecret: si.ClientSecret, PublishableKey: si.PublishableKey}, nil
}

func (s *billingServer) SetDefaultPaymentMethod(ctx context.Context, r *pb.SetDefaultPaymentMethodRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.SetDefaultPaymentMethod(ctx, r.GetCustomerId(), r.GetPaymentMethodId())
}

func (s *billingServer) ListInvoices(ctx context.Context, r *pb.ListInvoicesRequest) (*pb.InvoicePage, error) {
	p, err := s.impl.ListInvoices(ctx, ListInvoicesRequest{CustomerID: r.GetCustomerId(), Cursor: r.GetCursor(), Limit: int(r.GetLimit())})
	if err != nil {
		return nil, err
	}
	out := &pb.InvoicePage{NextCursor: p.NextCursor}
	for _, in := range p.Invoices {
		out.Invoices = append(out.Invoices, &pb.Invoice{
			Id: in.ID, Number: in.Number, Status: in.Status, Currency: in.Currency, AmountDue: in.AmountDue,
			AmountPaid: in.AmountPaid, Created: tsTo(in.Created), HostedUrl: in.HostedURL, PdfUrl: in.PDFURL,
			Total: in.Total, PeriodStart: tsTo(in.PeriodStart), PeriodEnd: tsTo(in.PeriodEnd),
		})
	}
	return out, nil
}

func (s *billingServer) GetPaymentMethod(ctx context.Context, r *pb.PaymentMethodRequest) (*pb.Card, error) {
	pm, ok := s.impl.(PaymentMethods)
	if !ok {
		return nil, Unsupported("this billing provider does not describe payment methods")
	}
	c, err := pm.GetPaymentMethod(ctx, r.GetCustomerId(), r.GetPaymentMethodId())
	if err != nil {
		return nil, err
	}
	return &pb.Card{PaymentMethodId: c.PaymentMethodID, Brand: c.Brand, Last4: c.Last4, ExpMonth: int32(c.ExpMonth), ExpYear: int32(c.ExpYear)}, nil
}

func (s *billingServer) ParseWebhook(ctx context.Context, r *pb.Webhook) (*pb.BillingEventList, error) {
	evs, err := s.impl.ParseBillingWebhook(ctx, webhookFrom(r))
	if err != nil {
		return nil, err
	}
	out := &pb.BillingEventList{}
	for _, e := range evs {
		out.Events = append(out.Events, &pb.BillingEvent{
			Id: e.ID, Type: e.Type, Time: tsTo(e.Time), ObjectId: e.ObjectID, CustomerId: e.CustomerID, Data: e.Data,
		})
	}
	return out, nil
}

var _ Billing = billingClient{}

type billingClient struct{ c pb.BillingClient }

func (c billingClient) EnsureCustomer(ctx context.Context, req EnsureCustomerRequest) (Customer, error) {
	return call(ctx, c.c.EnsureCustomer, &pb.EnsureCustomerRequest{
		ExternalKey: req.ExternalKey, Name: req.Name, Email: req.Email, Metadata: req.Metadata,
		ReplaceDetails: req.ReplaceDetails, Country: req.Country, VatId: req.VATID,
	}, func(r *pb.Customer) Customer {
		return Customer{ID: r.GetId(), ExternalKey: r.GetExternalKey(), Name: r.GetName(), Email: r.GetEmail(), DefaultPaymentMethod: r.GetDefaultPaymentMethod()}
	})
}

func (c billingClient) EnsurePrice(ctx context.Context, req EnsurePriceRequest) (Price, error) {
	return call(ctx, c.c.EnsurePrice, &pb.EnsurePriceRequest{
		ProductKey: req.ProductKey, ProductName: req.ProductName, Currency: req.Currency,
		UnitAmount: req.UnitAmount, Interval: string(req.Interval),
	}, func(p *pb.Price) Price {
		return Price{
			ID: p.GetId(), ProductID: p.GetProductId(), ProductKey: p.GetProductKey(), Currency: p.GetCurrency(),
			UnitAmount: p.GetUnitAmount(), Interval: Interval(p.GetInterval()),
		}
	})
}

func (c billingClient) CreateSubscription(ctx context.Context, req CreateSubscriptionRequest) (Subscription, error) {
	return call(ctx, c.c.CreateSubscription, &pb.CreateSubscriptionRequest{
		ExternalKey: req.ExternalKey, CustomerId: req.CustomerID, PriceId: req.PriceID, Quantity: req.Quantity,
		SendInvoice: req.SendInvoice, DaysUntilDue: int32(req.DaysUntilDue),
	}, subscriptionFrom)
}

func (c billingClient) GetSubscription(ctx context.Context, subscriptionID string) (Subscription, error) {
	return call(ctx, c.c.GetSubscription, &pb.IDRequest{Id: subscriptionID}, subscriptionFrom)
}

func (c billingClient) UpdateSubscriptionQuantity(ctx context.Context, subscriptionID string, quantity int64) (Subscription, error) {
	return call(ctx, c.c.UpdateSubscriptionQuantity, &pb.UpdateSubscriptionQuantityRequest{SubscriptionId: subscriptionID, Quantity: quantity}, subscriptionFrom)
}

func (c billingClient) PauseSubscription(ctx context.Context, subscriptionID string) (Subscription, error) {
	return call(ctx, c.c.PauseSubscription, &pb.IDRequest{Id: subscriptionID}, subscriptionFrom)
}

func (c billingClient) ResumeSubscription(ctx context.Context, subscriptionID string) (Subscription, error) {
	return call(ctx, c.c.ResumeSubscription, &pb.IDRequest{Id: subscriptionID}, subscriptionFrom)
}

func (c billingClient) CancelSubscription(ctx context.Context, subscriptionID string) (Subscription, error) {
	return call(ctx, c.c.CancelSubscription, &pb.IDRequest{Id: subscriptionID}, subscriptionFrom)
}

func (c billingClient) MoveSubscriptionPrice(ctx context.Context, subscriptionID, priceID string) (Subscription, error) {
	return call(ctx, c.c.MoveSubscriptionPrice, &pb.MoveSubscriptionPriceRequest{SubscriptionId: subscriptionID, PriceId: priceID}, subscriptionFrom)
}

func (c billingClient) CreateSetupIntent(ctx context.Context, customerID string) (SetupIntent, error) {
	return call(ctx, c.c.CreateSetupIntent, &pb.IDRequest{Id: customerID}, func(s *pb.SetupIntent) SetupIntent {
		return SetupIntent{ID: s.GetId(), ClientSecret: s.GetClientSecret(), PublishableKey: s.GetPublishableKey()}
	})
}

func (c billingClient) SetDefaultPaymentMethod(ctx context.Context, customerID, paymentMethodID string) error {
	return call0(ctx, c.c.SetDefaultPaymentMethod, &pb.SetDefaultPaymentMethodRequest{CustomerId: customerID, PaymentMethodId: paymentMethodID})
}

func (c billingClient) ListInvoices(ctx context.Context, req ListInvoicesRequest) (InvoicePage, error) {
	return call(ctx, c.c.ListInvoices, &pb.ListInvoicesRequest{CustomerId: req.CustomerID, Cursor: req.Cursor, Limit: int64(req.Limit)}, func(p *pb.InvoicePage) InvoicePage {
		out := InvoicePage{NextCursor: p.GetNextCursor()}
		for _, in := range p.GetInvoices() {
			out.Invoices = append(out.Invoices, Invoice{
				ID: in.GetId(), Number: in.GetNumber(), Status: in.GetStatus(), Currency: in.GetCurrency(),
				AmountDue: in.GetAmountDue(), AmountPaid: in.GetAmountPaid(), Created: tsFrom(in.GetCreated()),
				HostedURL: in.GetHostedUrl(), PDFURL: in.GetPdfUrl(),
				Total: in.GetTotal(), PeriodStart: tsFrom(in.GetPeriodStart()), PeriodEnd: tsFrom(in.GetPeriodEnd()),
			})
		}
		return out
	})
}

var _ PaymentMethods = billingClient{}

// GetPaymentMethod fails with UNSUPPORTED against a plugin older than
// protocol v2.1.
func (c billingClient) GetPaymentMethod(ctx context.Context, customerID, paymentMethodID string) (Card, error) {
	return call(ctx, c.c.GetPaymentMethod, &pb.PaymentMethodRequest{CustomerId: customerID, PaymentMethodId: paymentMethodID}, func(r *pb.Card) Card {
		return Card{PaymentMethodID: r.GetPaymentMethodId(), Brand: r.GetBrand(), Last4: r.GetLast4(), ExpMonth: int(r.GetExpMonth()), ExpYear: int(r.GetExpYear())}
	})
}

func (c billingClient) ParseBillingWebhook(ctx context.Context, hook Webhook) ([]BillingEvent, error) {
	return call(ctx, c.c.ParseWebhook, webhookTo(hook), func(l *pb.BillingEventList) []BillingEvent {
		out := make([]BillingEvent, 0, len(l.GetEvents()))
		for _, e := range l.GetEvents() {
			out = append(out, BillingEvent{
				ID: e.GetId(), Type: e.GetType(), Time: tsFrom(e.GetTime()), ObjectID: e.GetObjectId(),
				CustomerID: e.GetCustomerId(), Data: e.GetData(),
			})
		}
		return out
	})
}
