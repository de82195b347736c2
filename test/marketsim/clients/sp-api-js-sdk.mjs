// Amazon's own SP-API JavaScript SDK against marketsim, changed only in its base URL: LWA through
// marketsim's /auth/o2/token (the SDK hardcodes api.amazon.com for it), then getOrders paged by
// NextToken, getOrderItems, FBA inventory, finances, catalog, getItemOffers, a listing patch and
// a report to its gzip document, each compared with GET /_sim/amazon. Not part of `make test`
// (it needs the npm package); run by hand:
//   mkdir /tmp/sdk && cd /tmp/sdk && npm install @amazon-sp-api-release/amazon-sp-api-sdk-js
//   cp $REPO/test/marketsim/clients/sp-api-js-sdk.mjs . && node sp-api-js-sdk.mjs http://127.0.0.1:PORT
// against `bin/marketsim --port PORT --amazon-rate-scale 0` (the SDK's own limiter is off too).
import { OrdersSpApi, ReportsSpApi, FbainventorySpApi, FinancesSpApi, CatalogitemsSpApi,
  ListingsitemsSpApi, Pricing_v0SpApi } from '@amazon-sp-api-release/amazon-sp-api-sdk-js';
import zlib from 'node:zlib';
const base = process.argv[2];
const truth = await (await fetch(`${base}/_sim/amazon`)).json();
const s = truth.sellers[0];
const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: s.refresh_token,
  client_id: truth.application.client_id, client_secret: truth.application.client_secret });
const tok = await (await fetch(`${base}/auth/o2/token`, { method: 'POST', body: form })).json();
function client(ns) {
  const c = new ns.ApiClient(base);
  c.applyXAmzAccessTokenToRequest(tok.access_token);
  c.disableRateLimiter();
  return c;
}
const M = ['ATVPDKIKX0DER'];
const expect = (ok, what) => { if (!ok) { console.error(`FAIL: ${what}`); process.exit(1); } };
// The SDK's models rename fields; the raw answer is what is compared.
const raw = async (p) => { const r = await p; return r.response.body; };
const orders = new OrdersSpApi.OrdersV0Api(client(OrdersSpApi));
let n = 0, next, pages = 0, first;
do {
  const r = await raw(orders.getOrdersWithHttpInfo(M, next ? { nextToken: next } : { createdAfter: '2025-01-01T00:00:00Z', maxResultsPerPage: 50 }));
  n += r.payload.Orders.length; pages++; next = r.payload.NextToken; first ??= r.payload.Orders[0];
} while (next);
expect(n === s.counts.orders, 'getOrders reaches every order');
console.log(`getOrders: ${n} orders in ${pages} pages (truth ${s.counts.orders}); first ${first.AmazonOrderId} total ${first.OrderTotal?.Amount}`);
const items = await raw(orders.getOrderItemsWithHttpInfo(first.AmazonOrderId));
console.log(`getOrderItems: ${items.payload.OrderItems.length} lines, first ${items.payload.OrderItems[0].SellerSKU}`);
const inv = new FbainventorySpApi.FbaInventoryApi(client(FbainventorySpApi));
const ir = await raw(inv.getInventorySummariesWithHttpInfo('Marketplace', M[0], M, { details: true }));
expect(ir.payload.inventorySummaries.length === s.counts.fba_skus, 'every FBA SKU');
console.log(`getInventorySummaries: ${ir.payload.inventorySummaries.length} (fba_skus ${s.counts.fba_skus}), fulfillable ${ir.payload.inventorySummaries[0].inventoryDetails.fulfillableQuantity}`);
const fin = new FinancesSpApi.DefaultApi(client(FinancesSpApi));
const fr = await raw(fin.listFinancialEventsByOrderIdWithHttpInfo(first.AmazonOrderId));
console.log(`listFinancialEventsByOrderId: ${fr.payload.FinancialEvents.ShipmentEventList.length} shipment events`);
const gr = await raw(fin.listFinancialEventGroupsWithHttpInfo({ maxResultsPerPage: 100 }));
console.log(`listFinancialEventGroups: ${gr.payload.FinancialEventGroupList.length}`);
const cat = new CatalogitemsSpApi.CatalogApi(client(CatalogitemsSpApi));
const asin = items.payload.OrderItems[0].ASIN;
const ci = await raw(cat.getCatalogItemWithHttpInfo(asin, M, { includedData: ['summaries', 'salesRanks'] }));
console.log(`getCatalogItem: ${ci.asin} ${ci.summaries[0].itemName} (${ci.summaries[0].brand})`);
const pr = new Pricing_v0SpApi.ProductPricingApi(client(Pricing_v0SpApi));
const io = await raw(pr.getItemOffersWithHttpInfo(M[0], 'New', asin));
console.log(`getItemOffers: ${io.payload.Summary.TotalOfferCount} offers`);
const li = new ListingsitemsSpApi.ListingsApi(client(ListingsitemsSpApi));
const sku = items.payload.OrderItems[0].SellerSKU;
const pa = await raw(li.patchListingsItemWithHttpInfo(s.selling_partner_id, sku, M, { productType: 'PRODUCT', patches: [
  { op: 'replace', path: '/attributes/purchasable_offer', value: [{ marketplace_id: M[0], currency: 'USD', our_price: [{ schedule: [{ value_with_tax: 9.99 }] }] }] }] }));
const lg = await raw(li.getListingsItemWithHttpInfo(s.selling_partner_id, sku, M, { includedData: ['summaries', 'offers'] }));
expect(pa.status === 'ACCEPTED' && lg.offers[0].price.amount === '9.99', 'the patch shows');
console.log(`patchListingsItem: ${pa.status}; getListingsItem price ${lg.offers[0].price.amount}`);
const rep = new ReportsSpApi.ReportsApi(client(ReportsSpApi));
const cr = await raw(rep.createReportWithHttpInfo({ reportType: 'GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL', marketplaceIds: M, dataStartTime: '2025-01-01T00:00:00Z' }));
await fetch(`${base}/_sim/clock`, { method: 'POST', body: JSON.stringify({ advanceMs: 45000 }) });
const gr2 = await raw(rep.getReportWithHttpInfo(cr.reportId));
const doc = await raw(rep.getReportDocumentWithHttpInfo(gr2.reportDocumentId));
const body = Buffer.from(await (await fetch(doc.url)).arrayBuffer());
const text = doc.compressionAlgorithm === 'GZIP' ? zlib.gunzipSync(body).toString() : body.toString();
expect(text.trimEnd().split('\n').length - 1 === s.counts.order_items, 'one row per order line');
console.log(`report ${cr.reportId} ${gr2.processingStatus}: ${text.trimEnd().split('\n').length - 1} rows (order_items ${s.counts.order_items})`);
console.log('sp-api-js-sdk: all checks passed');
