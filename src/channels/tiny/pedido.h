/* The pedido sent to Tiny (pedido.incluir) from an order's neutral data: the buyer and the
 * delivery address the shipment names, the lines by SKU, the freight and the way of shipping,
 * the form and means of payment (the providers' Tiny part, 2.1, pedido.incluir). */
#ifndef SH_TINY_PEDIDO_H
#define SH_TINY_PEDIDO_H

#include <jansson.h>

/* The order's columns for pedido_json, one JSON object per order (a SELECT's expression over
 * orders o and erp_orders e). */
#define TINY_PEDIDO_SOURCE                                                                         \
	"json_build_object('externalId', o.external_id, 'channel', o.channel,"                     \
	" 'buyer', nullif(o.buyer_nickname, ''), 'buyerId', o.buyer_id,"                           \
	" 'date', to_char(o.date_created AT TIME ZONE 'UTC', 'DD/MM/YYYY'),"                       \
	" 'total', o.total_amount,"                                                                \
	" 'items', (SELECT coalesce(json_agg(json_build_object('sku', i.sku, 'title', i.title,"    \
	"   'quantity', i.quantity, 'price', i.unit_price, 'known', EXISTS (SELECT 1 FROM"         \
	"   products p WHERE p.tenant_id = i.tenant_id AND p.sku = i.sku AND p.source = 'erp'"     \
	"   AND p.erp_account_id = e.account_id)) ORDER BY i.sku), '[]')"                          \
	"   FROM order_items i WHERE i.order_id = o.id),"                                          \
	" 'payments', (SELECT coalesce(json_agg(json_build_object('type', y.payment_type,"         \
	"   'method', y.payment_method_id, 'installments', y.installments, 'amount',"              \
	"   coalesce(y.total_paid_amount, y.transaction_amount), 'shipping', y.shipping_cost)"     \
	"   ORDER BY y.id), '[]') FROM payments y WHERE y.order_id = o.id"                         \
	"   AND y.tenant_id = o.tenant_id AND y.status IS DISTINCT FROM 'rejected'),"              \
	" 'shipment', (SELECT json_build_object('mode', s.mode, 'logistic', s.logistic_type,"      \
	"   'cost', s.shipping_cost, 'city', s.dest_city, 'state', s.dest_state, 'zip',"           \
	"   s.dest_zip, 'receiver', s.receiver_name) FROM shipments s"                             \
	"   WHERE s.tenant_id = o.tenant_id AND s.account_id = o.account_id"                       \
	"   AND s.external_id = o.shipment_external_id LIMIT 1))"

/* The pedido.incluir payload ({"pedido":{...}}) of an order read by TINY_PEDIDO_SOURCE; a new
 * reference. */
json_t *tiny_pedido_json(json_t *order);

#endif
