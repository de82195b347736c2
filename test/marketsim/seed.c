/* The seeded catalogue: sellers, items, orders with payments and shipments, questions and claims,
 * built only from splitmix64 draws on --seed and from --now, so the same flags always give the
 * same bytes. Values look Brazilian (Portuguese titles, BRL, CEPs, CPF-less buyers) and follow
 * the shapes of the fact sheet. The same builders make the orders and questions of the control
 * API, from the data's second PRNG. */
#include "marketsim.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DAY_MS	86400000LL
#define HOUR_MS 3600000LL
#define MIN_MS	60000LL

enum var_kind { VAR_NONE, VAR_COLOR, VAR_SIZE, VAR_SHOE };

struct product {
	const char *name, *category, *domain, *sku;
	double lo, hi;
	enum var_kind var;
};

static const struct product products[] = {
    {"Fone de Ouvido Bluetooth", "MLB196208", "MLB-HEADPHONES", "FON", 49, 399, VAR_COLOR},
    {"Camiseta Algodão Masculina", "MLB31447", "MLB-T_SHIRTS", "CAM", 29, 89, VAR_SIZE},
    {"Tênis Esportivo Corrida", "MLB23332", "MLB-SNEAKERS", "TEN", 119, 499, VAR_SHOE},
    {"Garrafa Térmica Inox 1L", "MLB264051", "MLB-THERMOSES", "GAR", 39, 149, VAR_COLOR},
    {"Panela de Pressão Antiaderente 4,5L", "MLB193615", "MLB-PRESSURE_COOKERS", "PAN", 89, 299,
     VAR_NONE},
    {"Capinha para Celular Silicone", "MLB5338", "MLB-CELLPHONE_CASES", "CAP", 9, 39, VAR_COLOR},
    {"Carregador Turbo USB-C 25W", "MLB3813", "MLB-CELLPHONE_CHARGERS", "CAR", 29, 129, VAR_NONE},
    {"Mochila para Notebook Impermeável", "MLB26538", "MLB-BACKPACKS", "MOC", 79, 259, VAR_COLOR},
    {"Luminária de Mesa LED", "MLB7069", "MLB-DESK_LAMPS", "LUM", 49, 189, VAR_NONE},
    {"Jogo de Lençol Casal 4 Peças", "MLB4390", "MLB-BED_SHEETS", "LEN", 69, 249, VAR_COLOR},
    {"Cafeteira Elétrica 30 Xícaras", "MLB4337", "MLB-COFFEE_MAKERS", "CAF", 99, 349, VAR_NONE},
    {"Vestido Midi Floral", "MLB108704", "MLB-DRESSES", "VES", 59, 189, VAR_SIZE},
    {"Mouse Sem Fio Ergonômico", "MLB1714", "MLB-MICE", "MOU", 29, 159, VAR_NONE},
    {"Teclado Mecânico Gamer RGB", "MLB418448", "MLB-KEYBOARDS", "TEC", 149, 599, VAR_NONE},
    {"Kit Pincéis de Maquiagem 12 Peças", "MLB264788", "MLB-MAKEUP_BRUSHES", "PIN", 24, 99,
     VAR_NONE},
    {"Bola de Futebol de Campo", "MLB1386", "MLB-SOCCER_BALLS", "BOL", 59, 249, VAR_NONE},
    {"Tapete de Yoga Antiderrapante", "MLB1292", "MLB-YOGA_MATS", "TAP", 49, 159, VAR_COLOR},
    {"Relógio Smartwatch Monitor Cardíaco", "MLB135384", "MLB-SMARTWATCHES", "REL", 129, 699,
     VAR_COLOR},
    {"Conjunto de Potes Herméticos 10 Peças", "MLB193757", "MLB-FOOD_CONTAINERS", "POT", 39, 129,
     VAR_NONE},
    {"Ração para Cães Adultos 15kg", "MLB1072", "MLB-DOG_FOOD", "RAC", 119, 299, VAR_NONE},
    {"Furadeira de Impacto 650W", "MLB1690", "MLB-DRILLS", "FUR", 149, 449, VAR_NONE},
    {"Cadeira de Escritório Ergonômica", "MLB1581", "MLB-OFFICE_CHAIRS", "CAD", 349, 1299,
     VAR_COLOR},
    {"Ventilador de Mesa 40cm", "MLB5726", "MLB-FANS", "VEN", 119, 289, VAR_NONE},
    {"Chinelo Slide Conforto", "MLB273770", "MLB-SANDALS", "CHI", 29, 79, VAR_SHOE},
    {"Livro de Receitas da Culinária Brasileira", "MLB1196", "MLB-BOOKS", "LIV", 29, 89, VAR_NONE},
    {"Kit Ferramentas 129 Peças com Maleta", "MLB2525", "MLB-TOOL_KITS", "FER", 89, 349, VAR_NONE},
};

static const char *const brands[] = {"Ipê",	  "Jabuticaba", "Araucária", "Carioca",
				     "Sertão",	  "Paulista",	"Pampa",     "Cerrado",
				     "Maré Alta", "Guaraná",	"Tucano",    "Bossa"};
static const char *const qualifiers[] = {"Premium",	   "Original",	     "Com Garantia",
					 "Envio Imediato", "Kit 2 Unidades", "Lançamento",
					 "Alta Qualidade", "Promoção"};
static const char *const colors[] = {"Preto", "Branco", "Azul", "Vermelho",
				     "Verde", "Rosa",	"Cinza"};
static const char *const sizes[] = {"P", "M", "G", "GG"};
static const char *const shoe_sizes[] = {"37", "38", "39", "40", "41", "42", "43"};

struct city {
	const char *name, *state_id, *state, *zip;
};
static const struct city cities[] = {
    {"São Paulo", "BR-SP", "São Paulo", "01310"},
    {"Rio de Janeiro", "BR-RJ", "Rio de Janeiro", "22041"},
    {"Belo Horizonte", "BR-MG", "Minas Gerais", "30130"},
    {"Curitiba", "BR-PR", "Paraná", "80010"},
    {"Porto Alegre", "BR-RS", "Rio Grande do Sul", "90010"},
    {"Recife", "BR-PE", "Pernambuco", "50030"},
    {"Salvador", "BR-BA", "Bahia", "40020"},
    {"Fortaleza", "BR-CE", "Ceará", "60060"},
    {"Goiânia", "BR-GO", "Goiás", "74003"},
    {"Campinas", "BR-SP", "São Paulo", "13010"},
};
static const char *const streets[] = {
    "Rua das Flores",	  "Avenida Paulista",	   "Rua XV de Novembro",       "Rua São Bento",
    "Avenida Brasil",	  "Rua Augusta",	   "Avenida Sete de Setembro", "Rua da Consolação",
    "Rua Padre Anchieta", "Avenida Getúlio Vargas"};
static const char *const neighborhoods[] = {"Centro",	  "Jardim América", "Vila Mariana",
					    "Boa Viagem", "Savassi",	    "Moinhos de Vento",
					    "Batel",	  "Copacabana",	    "Pituba"};
static const char *const first_names[] = {"Ana",     "Maria",	 "João",    "Pedro",   "Lucas",
					  "Juliana", "Fernanda", "Rafael",  "Gabriel", "Beatriz",
					  "Camila",  "Bruno",	 "Carla",   "Diego",   "Larissa",
					  "Mateus",  "Patrícia", "Rodrigo", "Tatiane", "Vinícius"};
static const char *const surnames[] = {"Silva",	  "Santos",  "Oliveira", "Souza",   "Lima",
				       "Pereira", "Costa",   "Ferreira", "Almeida", "Carvalho",
				       "Gomes",	  "Ribeiro", "Martins",	 "Rocha",   "Barbosa"};
static const char *const store_names[] = {"MEGASTOREBR",  "CASAEBEM",	"TECHBRASIL", "LOJADASILVA",
					  "BAZARCENTRAL", "ATACADOSUL", "MUNDOFIT",   "ESPACOCASA"};
static const char *const question_texts[] = {
    "Olá, tem disponível na cor azul?",
    "Qual o prazo de entrega para São Paulo capital?",
    "Vocês emitem nota fiscal?",
    "Esse produto tem garantia de quantos meses?",
    "Boa tarde! Serve para uso profissional?",
    "Aceita troca caso o tamanho não sirva?",
    "É original? Vem na caixa lacrada?",
    "Consigo retirar pessoalmente?",
    "Quais as medidas exatas do produto?",
    "Se eu comprar duas unidades tem desconto?",
};
static const char *const answer_texts[] = {
    "Olá! Sim, temos disponível. Pode comprar que enviamos hoje mesmo. Obrigado!",
    "Boa tarde! Emitimos nota fiscal em todas as vendas. Ficamos à disposição.",
    "Olá, o produto tem garantia de 90 dias direto com a loja. Abraços!",
    "Oi! O prazo aparece no anúncio ao informar seu CEP. Enviamos em até 24 horas.",
    "Olá! Produto original, novo e lacrado. Obrigado pela pergunta!",
};

#define PICK(rng, arr) (arr[rng_below(rng, ARRAY_LEN(arr))])
#define SET(o, k, v)   json_object_set_new((o), (k), (v))

static double money(double v)
{
	return round(v * 100) / 100;
}

/* ASCII slug of a UTF-8 Portuguese text: accents folded, other bytes dropped. */
static void slugify(const char *in, char *out, size_t size, char space, bool upper)
{
	static const struct {
		const char *utf8;
		char ascii;
	} folds[] = {{"á", 'a'}, {"à", 'a'}, {"â", 'a'}, {"ã", 'a'}, {"é", 'e'}, {"ê", 'e'},
		     {"í", 'i'}, {"ó", 'o'}, {"ô", 'o'}, {"õ", 'o'}, {"ú", 'u'}, {"ç", 'c'},
		     {"É", 'e'}, {"Á", 'a'}, {"Ó", 'o'}, {"Ç", 'c'}};
	size_t n = 0;
	for (const char *p = in; *p && n + 1 < size;) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x80) {
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9')) {
				char ch = (char)c;
				if (upper && ch >= 'a' && ch <= 'z')
					ch = (char)(ch - 'a' + 'A');
				else if (!upper && ch >= 'A' && ch <= 'Z')
					ch = (char)(ch - 'A' + 'a');
				out[n++] = ch;
			} else if (c == ' ' && space && n && out[n - 1] != space) {
				out[n++] = space;
			}
			p++;
			continue;
		}
		bool folded = false;
		for (size_t i = 0; i < ARRAY_LEN(folds); i++) {
			size_t l = strlen(folds[i].utf8);
			if (strncmp(p, folds[i].utf8, l) == 0) {
				char ch = folds[i].ascii;
				out[n++] = upper ? (char)(ch - 'a' + 'A') : ch;
				p += l;
				folded = true;
				break;
			}
		}
		if (!folded)
			p++;
	}
	out[n] = '\0';
}

static json_t *id_name(const char *id, const char *name)
{
	return json_pack("{s:s?, s:s}", "id", id, "name", name);
}

static json_t *attribute(const char *id, const char *name, const char *value_id,
			 const char *value_name, const char *type)
{
	return json_pack("{s:s, s:s, s:s?, s:s, s:s}", "id", id, "name", name, "value_id", value_id,
			 "value_name", value_name, "value_type", type);
}

/* A buyer is a pure function of its number, so nothing about buyers needs storing. */
struct buyer {
	int64_t id;
	char first[32], last[32], nickname[64];
	const struct city *city;
	const char *street, *neighborhood;
	int number;
	char zip[12], phone[16];
};

static void buyer_of(uint64_t seed, int64_t k, struct buyer *b)
{
	uint64_t s = seed ^ (0xb0b0b0ULL + (uint64_t)k * 0x9e3779b97f4a7c15ULL);
	b->id = 180000000 + k * 7919 + (int64_t)rng_below(&s, 7919);
	snprintf(b->first, sizeof(b->first), "%s", PICK(&s, first_names));
	snprintf(b->last, sizeof(b->last), "%s", PICK(&s, surnames));
	char nick[64];
	snprintf(nick, sizeof(nick), "%s %s", b->first, b->last);
	char up[48];
	slugify(nick, up, sizeof(up), 0, true);
	snprintf(b->nickname, sizeof(b->nickname), "%s%d", up, (int)rng_range(&s, 10, 9999));
	b->city = &cities[rng_below(&s, ARRAY_LEN(cities))];
	b->street = PICK(&s, streets);
	b->neighborhood = PICK(&s, neighborhoods);
	b->number = (int)rng_range(&s, 1, 2500);
	snprintf(b->zip, sizeof(b->zip), "%s%03d", b->city->zip, (int)rng_below(&s, 1000));
	snprintf(b->phone, sizeof(b->phone), "9%04d%04d", (int)rng_below(&s, 10000),
		 (int)rng_below(&s, 10000));
}

static json_t *address_json(const struct city *c, const char *street, int number,
			    const char *neighborhood, const char *zip, bool masked)
{
	char line[160], num[16];
	snprintf(num, sizeof(num), "%d", number);
	snprintf(line, sizeof(line), "%s %d", street, number);
	/* The buyer's address is obfuscated until the payment is confirmed. */
	if (masked) {
		snprintf(line, sizeof(line), "XXXXXXX");
		snprintf(num, sizeof(num), "XXX");
	}
	char city_id[32];
	snprintf(city_id, sizeof(city_id), "%s-%s", c->state_id, c->zip);
	json_t *a = json_object();
	SET(a, "address_line", json_string(line));
	SET(a, "street_name", json_string(masked ? "XXXXXXX" : street));
	SET(a, "street_number", json_string(num));
	SET(a, "comment", masked ? json_null() : json_string("Apto 12"));
	SET(a, "zip_code", json_string(zip));
	SET(a, "city", id_name(city_id, c->name));
	SET(a, "state", id_name(c->state_id, c->state));
	SET(a, "country", id_name("BR", "Brasil"));
	SET(a, "neighborhood", json_pack("{s:n, s:s}", "id", "name", neighborhood));
	SET(a, "latitude", masked ? json_null() : json_real(-23.55));
	SET(a, "longitude", masked ? json_null() : json_real(-46.63));
	return a;
}

/* ---- sellers ---- */

static void build_seller(ms_data_t *d, uint64_t *rng, size_t k, int64_t now)
{
	ms_seller_t *s = &d->sellers[k];
	/* The first seller has a classic 9-digit id; the others are past the Int32 limit, as new
	 * users have been since December 2024. */
	s->id = k == 0 ? 100000000 + (int64_t)rng_below(rng, 800000000)
		       : 2200000000LL + (int64_t)k * 10000000 + (int64_t)rng_below(rng, 9999999);
	snprintf(s->nickname, sizeof(s->nickname), "%s%s", store_names[k % ARRAY_LEN(store_names)],
		 k >= ARRAY_LEN(store_names) ? "_2" : "");
	char lower[48];
	slugify(s->nickname, lower, sizeof(lower), 0, false);
	snprintf(s->email, sizeof(s->email), "%s@exemplo.com.br", lower);
	const struct city *c = &cities[k % ARRAY_LEN(cities)];
	char permalink[128], cnpj[24], zip[12];
	snprintf(permalink, sizeof(permalink), "http://perfil.mercadolivre.com.br/%s", s->nickname);
	snprintf(cnpj, sizeof(cnpj), "%08d0001%02d", (int)rng_below(rng, 100000000),
		 (int)rng_below(rng, 100));
	snprintf(zip, sizeof(zip), "%s%03d", c->zip, (int)rng_below(rng, 1000));
	int completed = (int)rng_range(rng, 500, 20000);
	int canceled = completed / 50;
	json_t *allow = json_pack("{s:b, s:[], s:{s:[], s:b}}", "allow", 1, "codes",
				  "immediate_payment", "reasons", "required", 0);
	json_t *j = json_object();
	SET(j, "id", json_integer(s->id));
	SET(j, "nickname", json_string(s->nickname));
	SET(j, "registration_date",
	    ms_time_json(now - (int64_t)rng_range(rng, 400, 3000) * DAY_MS));
	SET(j, "first_name", json_string(PICK(rng, first_names)));
	SET(j, "last_name", json_string(PICK(rng, surnames)));
	SET(j, "country_id", json_string("BR"));
	SET(j, "email", json_string(s->email));
	SET(j, "identification", json_pack("{s:s, s:s}", "type", "CNPJ", "number", cnpj));
	SET(j, "address",
	    json_pack("{s:s, s:s, s:s, s:s}", "state", c->state_id, "city", c->name, "address",
		      "Rua Comercial 100", "zip_code", zip));
	SET(j, "phone",
	    json_pack("{s:s, s:s, s:s, s:b}", "area_code", "11", "number", "30001234", "extension",
		      "", "verified", 0));
	SET(j, "alternative_phone",
	    json_pack("{s:s, s:s, s:s}", "area_code", "", "extension", "", "number", ""));
	SET(j, "user_type", json_string("normal"));
	SET(j, "tags", json_pack("[s, s, s]", "normal", "eshop", "credits_profile"));
	SET(j, "logo", json_null());
	SET(j, "points", json_integer(rng_range(rng, 100, 5000)));
	SET(j, "site_id", json_string(MS_SITE));
	SET(j, "permalink", json_string(permalink));
	SET(j, "seller_experience", json_string("ADVANCED"));
	SET(j, "seller_reputation",
	    json_pack("{s:s, s:s?, s:{s:i, s:i, s:s, s:{s:f, s:f, s:f}, s:i}, s:{s:{s:s, s:i}, "
		      "s:{s:s, s:f, s:i}, s:{s:s, s:f, s:i}, s:{s:s, s:f, s:i}}}",
		      "level_id", k % 3 == 2 ? "4_light_green" : "5_green", "power_seller_status",
		      k % 2 ? "gold" : "platinum", "transactions", "canceled", canceled,
		      "completed", completed, "period", "historic", "ratings", "negative", 0.02,
		      "neutral", 0.03, "positive", 0.95, "total", completed + canceled, "metrics",
		      "sales", "period", "60 days", "completed", completed / 20, "claims", "period",
		      "60 days", "rate", 0.004, "value", completed / 5000, "delayed_handling_time",
		      "period", "60 days", "rate", 0.01, "value", completed / 2000, "cancellations",
		      "period", "60 days", "rate", 0.002, "value", completed / 10000));
	SET(j, "buyer_reputation",
	    json_pack("{s:i, s:[], s:{s:i, s:i, s:s, s:i}}", "canceled_transactions", 0, "tags",
		      "transactions", "canceled", 0, "completed", 3, "period", "historic", "total",
		      3));
	SET(j, "status",
	    json_pack("{s:s, s:O, s:O, s:o, s:{s:b, s:[]}, s:b, s:s, s:s, s:b, s:b, s:s, s:s}",
		      "site_status", "active", "list", allow, "buy", allow, "sell", allow,
		      "billing", "allow", 1, "codes", "mercadopago_tc_accepted", 1,
		      "mercadopago_account_type", "personal", "mercadoenvios", "accepted",
		      "immediate_payment", 0, "confirmed_email", 1, "user_type", "eventual",
		      "required_action", ""));
	SET(j, "credit", json_pack("{s:i, s:s}", "consumed", 0, "credit_level_id", "MLB5"));
	s->json = j;
}

/* ---- items ---- */

static const char *listing_of(uint64_t *rng)
{
	double r = rng_unit(rng);
	return r < 0.70 ? "gold_special" : r < 0.95 ? "gold_pro" : "free";
}

static json_t *picture(const char *pid)
{
	char url[160], secure[160];
	snprintf(url, sizeof(url), "http://http2.mlstatic.com/D_%s-O.jpg", pid);
	snprintf(secure, sizeof(secure), "https://http2.mlstatic.com/D_%s-O.jpg", pid);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", pid, "url", url, "secure_url", secure,
			 "size", "500x500", "max_size", "1200x1200");
}

static void build_item(ms_data_t *d, uint64_t *rng, size_t i, int64_t now)
{
	ms_item_t *it = &d->items[i];
	ms_seller_t *s = &d->sellers[i % d->n_sellers];
	size_t seller_ix = i % d->n_sellers;
	const struct product *p = &products[rng_below(rng, ARRAY_LEN(products))];
	snprintf(it->id, sizeof(it->id), "MLB%lld", (long long)(MS_ITEM_BASE + (int64_t)i));
	it->seller_id = s->id;

	const char *brand = PICK(rng, brands);
	char title[128];
	snprintf(title, sizeof(title), "%s %s %s", p->name, brand, PICK(rng, qualifiers));
	if (strlen(title) > 60) { /* the title limit; cut at a word boundary */
		title[60] = '\0';
		char *sp = strrchr(title, ' ');
		if (sp)
			*sp = '\0';
	}
	double price = floor(p->lo + rng_unit(rng) * (p->hi - p->lo)) + 0.9;
	const char *listing = listing_of(rng);
	bool used = rng_unit(rng) < 0.08;
	int64_t start =
	    now - (int64_t)rng_range(rng, 2, 720) * DAY_MS - (int64_t)rng_below(rng, 86400) * 1000;
	double roll = rng_unit(rng);
	const char *status = roll < 0.82 ? "active" : roll < 0.93 ? "paused" : "closed";
	/* Only new, non-free items can be paused by running out of stock. */
	bool out_of_stock = strcmp(status, "paused") == 0 && !used &&
			    strcmp(listing, "free") != 0 && rng_unit(rng) < 0.5;
	int sold = (int)rng_below(rng, 400);
	char pid[64], sku[48], slug[128], permalink[256];
	snprintf(pid, sizeof(pid), "%d-MLB%lld_%02d%04d", (int)rng_range(rng, 600000, 999999),
		 (long long)(50000000000LL + (int64_t)i), (int)rng_range(rng, 1, 12),
		 (int)rng_range(rng, 2021, 2025));
	snprintf(sku, sizeof(sku), "%s-%zu-%05zu", p->sku, seller_ix + 1, i + 1);
	slugify(title, slug, sizeof(slug), '-', false);
	snprintf(permalink, sizeof(permalink),
		 "https://produto.mercadolivre.com.br/MLB-%lld-%s-_JM",
		 (long long)(MS_ITEM_BASE + (int64_t)i), slug);
	const char *logistic;
	double lr = rng_unit(rng);
	logistic = lr < 0.5    ? "drop_off"
		   : lr < 0.7  ? "xd_drop_off"
		   : lr < 0.85 ? "cross_docking"
		   : lr < 0.97 ? "fulfillment"
			       : "self_service";

	json_t *variations = json_array();
	int total_qty = 0;
	if (p->var != VAR_NONE && rng_unit(rng) < 0.6) {
		const char *const *vals = p->var == VAR_COLOR  ? colors
					  : p->var == VAR_SIZE ? sizes
							       : shoe_sizes;
		size_t nvals = p->var == VAR_COLOR  ? ARRAY_LEN(colors)
			       : p->var == VAR_SIZE ? ARRAY_LEN(sizes)
						    : ARRAY_LEN(shoe_sizes);
		size_t nv = 2 + rng_below(rng, 3), first = rng_below(rng, nvals);
		for (size_t v = 0; v < nv && v < nvals; v++) {
			const char *val = vals[(first + v) % nvals];
			char vsku[96], up[32];
			slugify(val, up, sizeof(up), 0, true);
			snprintf(vsku, sizeof(vsku), "%s-%s", sku, up);
			int q = out_of_stock ? 0 : (int)rng_below(rng, 60);
			total_qty += q;
			json_t *var = json_object();
			SET(var, "id", json_integer(170000000000LL + (int64_t)i * 10 + (int64_t)v));
			SET(var, "price", json_real(price));
			SET(var, "attribute_combinations",
			    json_pack("[o]", attribute(p->var == VAR_COLOR ? "COLOR" : "SIZE",
						       p->var == VAR_COLOR ? "Cor" : "Tamanho",
						       NULL, val, "list")));
			SET(var, "available_quantity", json_integer(q));
			SET(var, "sold_quantity", json_integer(sold / (int)nv));
			SET(var, "sale_terms", json_array());
			SET(var, "picture_ids", json_pack("[s]", pid));
			SET(var, "catalog_product_id", json_null());
			SET(var, "attributes",
			    json_pack("[o]", attribute("SELLER_SKU", "SKU", NULL, vsku, "string")));
			json_array_append_new(variations, var);
		}
	} else {
		total_qty = out_of_stock ? 0 : (int)rng_range(rng, 1, 250);
	}
	json_t *attrs = json_array();
	json_array_append_new(attrs, attribute("BRAND", "Marca", NULL, brand, "string"));
	json_array_append_new(attrs, attribute("ITEM_CONDITION", "Condição do item",
					       used ? "2230581" : "2230284",
					       used ? "Usado" : "Novo", "list"));
	json_array_append_new(attrs, attribute("MODEL", "Modelo", NULL, p->sku, "string"));
	if (json_array_size(variations) == 0)
		json_array_append_new(attrs, attribute("SELLER_SKU", "SKU", NULL, sku, "string"));

	const struct city *c = &cities[seller_ix % ARRAY_LEN(cities)];
	char city_id[32];
	snprintf(city_id, sizeof(city_id), "%s-%s", c->state_id, c->zip);
	json_t *j = json_object();
	SET(j, "id", json_string(it->id));
	SET(j, "site_id", json_string(MS_SITE));
	SET(j, "title", json_string(title));
	SET(j, "seller_id", json_integer(s->id));
	SET(j, "category_id", json_string(p->category));
	SET(j, "official_store_id", json_null());
	SET(j, "price", json_real(price));
	SET(j, "base_price", json_real(price));
	SET(j, "original_price", json_null());
	SET(j, "currency_id", json_string("BRL"));
	SET(j, "initial_quantity", json_integer(total_qty + sold));
	SET(j, "available_quantity", json_integer(total_qty));
	SET(j, "sold_quantity", json_integer(sold));
	SET(j, "sale_terms",
	    json_pack(
		"[o, o]",
		attribute("WARRANTY_TYPE", "Tipo de garantia", "2230280", "Garantia do vendedor",
			  "list"),
		attribute("WARRANTY_TIME", "Tempo de garantia", NULL, "90 dias", "number_unit")));
	SET(j, "buying_mode", json_string("buy_it_now"));
	SET(j, "listing_type_id", json_string(listing));
	SET(j, "start_time", ms_time_json(start));
	SET(j, "stop_time", ms_time_json(start + 7300 * DAY_MS));
	SET(j, "condition", json_string(used ? "used" : "new"));
	SET(j, "permalink", json_string(permalink));
	SET(j, "thumbnail_id", json_string(pid));
	char thumb[160];
	snprintf(thumb, sizeof(thumb), "http://http2.mlstatic.com/D_%s-I.jpg", pid);
	SET(j, "thumbnail", json_string(thumb));
	SET(j, "pictures", json_pack("[o]", picture(pid)));
	SET(j, "descriptions", json_array());
	SET(j, "accepts_mercadopago", json_true());
	SET(j, "shipping",
	    json_pack("{s:s, s:[], s:[], s:b, s:b, s:s, s:b}", "mode", "me2", "free_methods",
		      "tags", "local_pick_up", 0, "free_shipping", price >= 79, "logistic_type",
		      logistic, "store_pick_up", 0));
	SET(j, "seller_address",
	    json_pack("{s:o, s:o, s:o}", "city", id_name(city_id, c->name), "state",
		      id_name(c->state_id, c->state), "country", id_name("BR", "Brasil")));
	SET(j, "seller_custom_field", i % 3 == 0 ? json_string(sku) : json_null());
	SET(j, "attributes", attrs);
	SET(j, "variations", variations);
	SET(j, "status", json_string(status));
	json_t *sub = json_array();
	if (out_of_stock)
		json_array_append_new(sub, json_string("out_of_stock"));
	else if (strcmp(status, "paused") == 0)
		json_array_append_new(sub, json_string("paused_by_seller"));
	SET(j, "sub_status", sub);
	SET(j, "tags", json_pack("[s, s]", "good_quality_thumbnail", "immediate_payment"));
	SET(j, "warranty", json_string("Garantia do vendedor: 90 dias"));
	SET(j, "catalog_product_id", json_null());
	SET(j, "domain_id", json_string(p->domain));
	SET(j, "parent_item_id", json_null());
	SET(j, "deal_ids", json_array());
	SET(j, "automatic_relist", json_false());
	SET(j, "date_created", ms_time_json(start));
	SET(j, "last_updated",
	    ms_time_json(start + (int64_t)rng_below(rng, (uint64_t)(now - start))));
	SET(j, "health", json_real(round(rng_range(rng, 60, 100)) / 100));
	SET(j, "catalog_listing", json_false());
	SET(j, "channels", json_pack("[s]", "marketplace"));
	it->json = j;
}

/* ---- orders, payments, shipments ---- */

static const char *const ship_statuses[] = {"to_be_agreed",  "pending",	     "handling",
					    "ready_to_ship", "shipped",	     "delivered",
					    "not_delivered", "not_verified", "cancelled"};

static const char *ship_status_roll(uint64_t *rng, int64_t age)
{
	double r = rng_unit(rng);
	if (r < 0.08)
		return "cancelled";
	if (r < 0.11)
		return "pending";
	if (r < 0.125)
		return "to_be_agreed";
	if (r < 0.135)
		return "not_verified";
	double r2 = rng_unit(rng);
	if (age < DAY_MS)
		return r2 < 0.4 ? "handling" : "ready_to_ship";
	if (age < 4 * DAY_MS)
		return r2 < 0.2 ? "ready_to_ship" : "shipped";
	return r2 < 0.93 ? "delivered" : "not_delivered";
}

static const char *ship_substatus(uint64_t *rng, const char *st)
{
	if (strcmp(st, "handling") == 0)
		return rng_unit(rng) < 0.5 ? "waiting_for_label_generation" : "invoice_pending";
	if (strcmp(st, "ready_to_ship") == 0)
		return rng_unit(rng) < 0.5 ? "ready_to_print" : "printed";
	if (strcmp(st, "shipped") == 0)
		return rng_unit(rng) < 0.5 ? "in_hub" : "in_transit";
	if (strcmp(st, "not_delivered") == 0)
		return "returning_to_sender";
	return NULL;
}

static int64_t update_delay(uint64_t *rng, const char *st)
{
	if (strcmp(st, "pending") == 0)
		return rng_range(rng, 1, 10) * MIN_MS;
	if (strcmp(st, "handling") == 0 || strcmp(st, "ready_to_ship") == 0)
		return rng_range(rng, 1, 20) * HOUR_MS;
	if (strcmp(st, "shipped") == 0)
		return rng_range(rng, 24, 72) * HOUR_MS;
	if (strcmp(st, "delivered") == 0 || strcmp(st, "not_delivered") == 0)
		return rng_range(rng, 72, 216) * HOUR_MS;
	if (strcmp(st, "cancelled") == 0)
		return rng_range(rng, 1, 48) * HOUR_MS;
	return rng_range(rng, 1, 3) * HOUR_MS;
}

static bool ensure_order_room(ms_data_t *d)
{
	if (d->n_orders < d->cap_orders)
		return true;
	size_t cap = d->cap_orders ? d->cap_orders * 2 : 256;
	d->orders = xrealloc(d->orders, cap * sizeof(*d->orders));
	d->shipments = xrealloc(d->shipments, cap * sizeof(*d->shipments));
	d->cap_orders = cap;
	return true;
}

static ms_item_t *random_item_of(ms_data_t *d, uint64_t *rng, size_t seller_ix)
{
	size_t per = (d->n_items - seller_ix + d->n_sellers - 1) / d->n_sellers;
	if (per == 0)
		return NULL;
	ms_item_t *it = NULL;
	for (int tries = 0; tries < 4; tries++) {
		it = &d->items[seller_ix + d->n_sellers * rng_below(rng, per)];
		const char *st = json_string_value(json_object_get(it->json, "status"));
		if (st && strcmp(st, "closed") != 0)
			break;
	}
	return it;
}

struct order_spec {
	size_t seller_ix;
	int64_t created;
	const char *ship_status; /* NULL = roll one from the order's age */
	ms_item_t *item;	 /* NULL = pick 1-3 items */
	int quantity;		 /* 0 = roll */
};

static json_t *order_line(uint64_t *rng, ms_item_t *it, int qty)
{
	json_t *ij = it->json;
	json_t *vars = json_object_get(ij, "variations");
	json_t *var = json_array_size(vars)
			  ? json_array_get(vars, rng_below(rng, json_array_size(vars)))
			  : NULL;
	const char *sku = NULL;
	json_t *attrs = json_object_get(var ? var : ij, "attributes");
	size_t k;
	json_t *a;
	json_array_foreach(attrs, k, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "id")), "SELLER_SKU") == 0)
			sku = json_string_value(json_object_get(a, "value_name"));
	}
	json_t *var_attrs = json_array();
	if (var) {
		json_t *comb;
		json_array_foreach(json_object_get(var, "attribute_combinations"), k, comb)
		{
			json_array_append_new(
			    var_attrs,
			    json_pack("{s:O, s:O, s:O, s:O}", "id", json_object_get(comb, "id"),
				      "name", json_object_get(comb, "name"), "value_id",
				      json_object_get(comb, "value_id"), "value_name",
				      json_object_get(comb, "value_name")));
		}
	}
	double price = json_number_value(json_object_get(ij, "price"));
	const char *listing = json_string_value(json_object_get(ij, "listing_type_id"));
	double fee_rate = strcmp(listing, "gold_pro") == 0	 ? 0.18
			  : strcmp(listing, "gold_special") == 0 ? 0.13
								 : 0;
	json_t *item = json_object();
	SET(item, "id", json_string(it->id));
	SET(item, "title", json_copy(json_object_get(ij, "title")));
	SET(item, "category_id", json_copy(json_object_get(ij, "category_id")));
	SET(item, "variation_id", var ? json_copy(json_object_get(var, "id")) : json_null());
	SET(item, "seller_custom_field", json_copy(json_object_get(ij, "seller_custom_field")));
	SET(item, "variation_attributes", var_attrs);
	SET(item, "warranty", json_copy(json_object_get(ij, "warranty")));
	SET(item, "condition", json_copy(json_object_get(ij, "condition")));
	SET(item, "seller_sku", sku ? json_string(sku) : json_null());
	json_t *line = json_object();
	SET(line, "item", item);
	SET(line, "quantity", json_integer(qty));
	SET(line, "requested_quantity", json_pack("{s:i, s:s}", "value", qty, "measure", "unit"));
	SET(line, "unit_price", json_real(price));
	SET(line, "full_unit_price", json_real(price));
	SET(line, "gross_price", json_real(price));
	SET(line, "currency_id", json_string("BRL"));
	SET(line, "sale_fee", json_real(money(price * fee_rate)));
	SET(line, "listing_type_id", json_string(listing));
	SET(line, "discounts", json_array());
	return line;
}

struct pay_method {
	const char *id, *type;
};
static const struct pay_method pay_methods[] = {
    {"pix", "bank_transfer"},	       {"pix", "bank_transfer"}, {"master", "credit_card"},
    {"visa", "credit_card"},	       {"elo", "credit_card"},	 {"bolbradesco", "ticket"},
    {"account_money", "account_money"}};

static void build_order(ms_data_t *d, uint64_t *rng, uint64_t seed, const struct order_spec *sp)
{
	ensure_order_room(d);
	size_t i = d->n_orders++;
	ms_order_t *o = &d->orders[i];
	ms_shipment_t *sh = &d->shipments[i];
	ms_seller_t *s = &d->sellers[sp->seller_ix];
	struct buyer b;
	buyer_of(seed, (int64_t)rng_below(rng, 400), &b);
	int64_t now = sp->created > d->now_ms ? sp->created : d->now_ms;
	int64_t age = now - sp->created;
	const char *ship = sp->ship_status ? sp->ship_status : ship_status_roll(rng, age);

	const char *status = "paid";
	bool paid_once = true;
	if (strcmp(ship, "pending") == 0) {
		double r = rng_unit(rng);
		status = r < 0.5    ? "payment_required"
			 : r < 0.75 ? "payment_in_process"
				    : "confirmed";
		paid_once = false;
	} else if (strcmp(ship, "cancelled") == 0) {
		status = "cancelled";
		paid_once = rng_unit(rng) < 0.5; /* cancelled after payment: refunded */
	} else if (strcmp(ship, "delivered") == 0 && rng_unit(rng) < 0.04) {
		status = "partially_refunded";
	}
	/* Nothing happens after the reference time (or after a live order's creation). */
	int64_t limit = now - MIN_MS > sp->created ? now - MIN_MS : sp->created;
	int64_t updated = sp->created + update_delay(rng, ship);
	if (updated > limit)
		updated = limit;
	int64_t closed = paid_once ? sp->created + rng_range(rng, 5, 1800) * 1000 : 0;
	if (closed > limit)
		closed = limit;
	if (closed > updated)
		updated = closed;

	o->id = MS_ORDER_BASE + (int64_t)i;
	o->seller_id = s->id;
	o->buyer_id = b.id;
	o->created_ms = sp->created;
	o->closed_ms = closed;
	o->updated_ms = updated;

	json_t *lines = json_array();
	double total = 0, fees = 0;
	bool free_ship = true;
	int nlines = sp->item ? 1 : rng_unit(rng) < 0.7 ? 1 : rng_unit(rng) < 0.75 ? 2 : 3;
	const char *logistic = "drop_off";
	for (int l = 0; l < nlines; l++) {
		ms_item_t *it = sp->item ? sp->item : random_item_of(d, rng, sp->seller_ix);
		bool dup = false;
		size_t k;
		json_t *prev;
		json_array_foreach(lines, k, prev)
		{
			const char *pid =
			    json_string_value(json_object_get(json_object_get(prev, "item"), "id"));
			if (strcmp(pid, it->id) == 0)
				dup = true;
		}
		if (dup)
			continue;
		double r = rng_unit(rng);
		int qty = sp->quantity ? sp->quantity : r < 0.75 ? 1 : r < 0.93 ? 2 : 3;
		json_t *line = order_line(rng, it, qty);
		total += json_real_value(json_object_get(line, "unit_price")) * qty;
		fees += json_real_value(json_object_get(line, "sale_fee")) * qty;
		json_t *shipping = json_object_get(it->json, "shipping");
		if (!json_is_true(json_object_get(shipping, "free_shipping")))
			free_ship = false;
		if (l == 0)
			logistic = json_string_value(json_object_get(shipping, "logistic_type"));
		json_array_append_new(lines, line);
	}
	total = money(total);
	double ship_cost = free_ship ? 0 : floor(rng_range(rng, 15, 39)) + 0.9;
	double list_cost = free_ship ? floor(rng_range(rng, 18, 45)) + 0.9 : ship_cost;
	const struct pay_method *pm = &pay_methods[rng_below(rng, ARRAY_LEN(pay_methods))];
	const char *pay_status, *pay_detail;
	if (strcmp(status, "paid") == 0) {
		pay_status = "approved";
		pay_detail = "accredited";
	} else if (strcmp(status, "partially_refunded") == 0) {
		pay_status = "approved";
		pay_detail = "partially_refunded";
	} else if (strcmp(status, "cancelled") == 0) {
		pay_status = paid_once ? "refunded" : "cancelled";
		pay_detail = paid_once ? "refunded" : "expired";
	} else if (strcmp(status, "payment_in_process") == 0) {
		pay_status = "in_process";
		pay_detail = "pending_review_manual";
	} else {
		pay_status = "pending";
		pay_detail = strcmp(pm->type, "ticket") == 0 ? "pending_waiting_payment"
							     : "pending_waiting_transfer";
	}
	int installments = strcmp(pm->type, "credit_card") == 0 ? (int)rng_range(rng, 1, 10) : 1;
	json_t *payment = json_object();
	SET(payment, "id", json_integer(MS_PAYMENT_BASE + (int64_t)i));
	SET(payment, "order_id", json_integer(o->id));
	SET(payment, "payer_id", json_integer(b.id));
	SET(payment, "collector", json_pack("{s:I}", "id", (json_int_t)s->id));
	SET(payment, "site_id", json_string(MS_SITE));
	SET(payment, "payment_method_id", json_string(pm->id));
	SET(payment, "payment_type", json_string(pm->type));
	SET(payment, "installments", json_integer(installments));
	SET(payment, "status", json_string(pay_status));
	SET(payment, "status_detail", json_string(pay_detail));
	SET(payment, "currency_id", json_string("BRL"));
	SET(payment, "transaction_amount", json_real(total));
	SET(payment, "total_paid_amount", json_real(money(total + ship_cost)));
	SET(payment, "shipping_cost", json_real(ship_cost));
	SET(payment, "marketplace_fee", json_real(money(fees)));
	SET(payment, "coupon_amount", json_integer(0));
	SET(payment, "date_approved", closed ? ms_time_json(closed) : json_null());
	SET(payment, "date_created", ms_time_json(sp->created + 3000));
	SET(payment, "date_last_modified", ms_time_json(updated));
	SET(payment, "available_actions",
	    strcmp(pay_status, "approved") == 0 ? json_pack("[s]", "refund") : json_array());

	bool delivered = strcmp(ship, "delivered") == 0;
	json_t *tags = json_array();
	if (paid_once && strcmp(status, "cancelled") != 0)
		json_array_append_new(tags, json_string("paid"));
	json_array_append_new(tags, json_string(delivered ? "delivered" : "not_delivered"));

	json_t *j = json_object();
	SET(j, "id", json_integer(o->id));
	SET(j, "date_created", ms_time_json(sp->created));
	SET(j, "date_closed", closed ? ms_time_json(closed) : json_null());
	SET(j, "last_updated", ms_time_json(updated));
	SET(j, "date_last_updated", ms_time_json(updated));
	SET(j, "expiration_date", ms_time_json(sp->created + 28 * DAY_MS));
	SET(j, "pack_id", json_null());
	SET(j, "pickup_id", json_null());
	SET(j, "fulfilled", delivered ? json_true() : json_null());
	SET(j, "mediations", json_array());
	SET(j, "total_amount", json_real(total));
	SET(j, "paid_amount", json_real(paid_once ? money(total + ship_cost) : 0));
	SET(j, "coupon", json_pack("{s:n, s:i}", "id", "amount", 0));
	SET(j, "order_items", lines);
	SET(j, "currency_id", json_string("BRL"));
	SET(j, "payments", json_pack("[o]", payment));
	SET(j, "shipping", json_pack("{s:I}", "id", (json_int_t)(MS_SHIPMENT_BASE + (int64_t)i)));
	SET(j, "status", json_string(status));
	SET(j, "status_detail", json_null());
	SET(j, "tags", tags);
	SET(j, "feedback", json_pack("{s:n, s:n}", "buyer", "seller"));
	SET(j, "context",
	    json_pack("{s:s, s:s, s:[]}", "channel", "marketplace", "site", MS_SITE, "flows"));
	SET(j, "buyer", json_pack("{s:I, s:s}", "id", (json_int_t)b.id, "nickname", b.nickname));
	SET(j, "seller", json_pack("{s:I}", "id", (json_int_t)s->id));
	SET(j, "taxes", json_pack("{s:n, s:n, s:n}", "amount", "currency_id", "id"));
	if (strcmp(status, "cancelled") == 0)
		SET(j, "cancel_detail",
		    json_pack("{s:s, s:s, s:s, s:s, s:o}", "group",
			      paid_once ? "buyer" : "internal", "code",
			      paid_once ? "buyer_cancel_purchase" : "payment_expired",
			      "description",
			      paid_once ? "Compra cancelada pelo comprador" : "Pagamento expirado",
			      "requested_by", paid_once ? "buyer" : "system", "date",
			      ms_time_json(updated)));
	else
		SET(j, "cancel_detail", json_null());
	o->json = j;

	/* Its shipment, in the new format (x-format-new). */
	bool me1 = strcmp(ship, "to_be_agreed") == 0;
	const struct city *sc = &cities[sp->seller_ix % ARRAY_LEN(cities)];
	char seller_zip[12], receiver[80], tracking[32], service[8];
	snprintf(seller_zip, sizeof(seller_zip), "%s000", sc->zip);
	snprintf(receiver, sizeof(receiver), "%s %s", b.first, b.last);
	bool has_tracking = strcmp(ship, "shipped") == 0 || strcmp(ship, "delivered") == 0 ||
			    strcmp(ship, "not_delivered") == 0 ||
			    strcmp(ship, "ready_to_ship") == 0;
	snprintf(tracking, sizeof(tracking), "NX%09lldBR", (long long)(o->id % 1000000000));
	snprintf(service, sizeof(service), "%d", 241);
	sh->id = MS_SHIPMENT_BASE + (int64_t)i;
	sh->seller_id = s->id;
	sh->expected_ms = sp->created + 2 * DAY_MS;
	const char *sub = ship_substatus(rng, ship);
	json_t *sj = json_object();
	SET(sj, "id", json_integer(sh->id));
	SET(sj, "status", json_string(ship));
	SET(sj, "substatus", sub ? json_string(sub) : json_null());
	SET(sj, "date_created", ms_time_json(sp->created + 2000));
	SET(sj, "last_updated", ms_time_json(updated));
	SET(sj, "tracking_number", has_tracking ? json_string(tracking) : json_null());
	SET(sj, "tracking_method", json_string(me1 ? "Correios PAC" : "MEL Distribution"));
	SET(sj, "declared_value", json_real(total));
	SET(sj, "tags", json_array());
	SET(sj, "items_types", json_pack("[s]", "new"));
	SET(sj, "dimensions",
	    json_pack("{s:i, s:i, s:i, s:i}", "height", (int)rng_range(rng, 5, 40), "width",
		      (int)rng_range(rng, 10, 40), "length", (int)rng_range(rng, 15, 60), "weight",
		      (int)rng_range(rng, 100, 8000)));
	SET(sj, "logistic",
	    json_pack("{s:s, s:s, s:s}", "mode", me1 ? "me1" : "me2", "type",
		      me1 ? "default" : logistic, "direction", "forward"));
	SET(sj, "origin",
	    json_pack("{s:s, s:I, s:o, s:n}", "type", "selling_address", "sender_id",
		      (json_int_t)s->id, "shipping_address",
		      address_json(sc, "Rua Comercial", 100, "Centro", seller_zip, false), "node"));
	json_t *dest_addr =
	    address_json(b.city, b.street, b.number, b.neighborhood, b.zip, !paid_once);
	SET(dest_addr, "delivery_preference", json_string("residential"));
	SET(sj, "destination",
	    json_pack("{s:s, s:I, s:s, s:o, s:o}", "type", "buyer_address", "receiver_id",
		      (json_int_t)b.id, "receiver_name", receiver, "receiver_phone",
		      me1 ? json_string(b.phone) : json_null(), "shipping_address", dest_addr));
	SET(sj, "source",
	    json_pack("{s:s, s:s, s:n, s:n}", "site_id", MS_SITE, "market_place", "MELI",
		      "customer_id", "application_id"));
	SET(sj, "lead_time",
	    json_pack("{s:f, s:f, s:s, s:s, s:{s:i, s:s, s:s, s:s}, s:I, s:{s:s, s:o}, s:{s:o}, "
		      "s:{s:o}}",
		      "cost", ship_cost, "list_cost", list_cost, "cost_type",
		      free_ship ? "free" : "charged", "currency_id", "BRL", "shipping_method", "id",
		      182, "name", "Normal", "type", "standard", "deliver_to", "address",
		      "service_id", (json_int_t)241, "estimated_delivery_time", "type",
		      "known_frame", "date", ms_time_json(sp->created + 5 * DAY_MS),
		      "estimated_delivery_limit", "date", ms_time_json(sp->created + 9 * DAY_MS),
		      "estimated_delivery_final", "date", ms_time_json(sp->created + 12 * DAY_MS)));
	SET(sj, "priority_class", json_null());
	SET(sj, "sibling", json_pack("{s:n, s:n}", "reason", "sibling_id"));
	SET(sj, "snapshot_packing", json_null());
	SET(sj, "quotation", json_null());
	sh->json = sj;
}

/* ---- questions ---- */

static void build_question(ms_data_t *d, uint64_t *rng, uint64_t seed, ms_item_t *it,
			   int64_t created, const char *text, const char *status, int64_t now)
{
	if (d->n_questions == d->cap_questions) {
		d->cap_questions = d->cap_questions ? d->cap_questions * 2 : 64;
		d->questions = xrealloc(d->questions, d->cap_questions * sizeof(*d->questions));
	}
	size_t i = d->n_questions++;
	ms_question_t *q = &d->questions[i];
	struct buyer b;
	buyer_of(seed, (int64_t)rng_below(rng, 400), &b);
	q->id = MS_QUESTION_BASE + (int64_t)i;
	q->seller_id = it->seller_id;
	q->buyer_id = b.id;
	q->created_ms = created;
	q->updated_ms = created;
	bool banned = strcmp(status, "BANNED") == 0;
	json_t *answer = json_null();
	if (strcmp(status, "ANSWERED") == 0) {
		int64_t at = created + rng_range(rng, 5, 1200) * MIN_MS;
		if (at > now)
			at = now;
		q->updated_ms = at;
		answer = json_pack("{s:s, s:s, s:o}", "text", PICK(rng, answer_texts), "status",
				   "ACTIVE", "date_created", ms_time_json(at));
	}
	json_t *j = json_object();
	SET(j, "date_created", ms_time_json(created));
	SET(j, "item_id", json_string(it->id));
	SET(j, "seller_id", json_integer(it->seller_id));
	SET(j, "status", json_string(status));
	SET(j, "text", json_string(banned ? "" : text));
	SET(j, "tags", json_array());
	SET(j, "id", json_integer(q->id));
	SET(j, "deleted_from_listing", json_false());
	SET(j, "hold", json_false());
	SET(j, "suspected_spam", json_false());
	SET(j, "answer", answer);
	SET(j, "from",
	    json_pack("{s:I, s:i}", "id", (json_int_t)b.id, "answered_questions",
		      (int)rng_below(rng, 30)));
	q->json = j;
}

/* ---- claims ---- */

static void build_claim(ms_data_t *d, uint64_t *rng, size_t order_ix, int64_t now)
{
	ms_order_t *o = &d->orders[order_ix];
	ms_claim_t *c = &d->claims[d->n_claims];
	c->id = MS_CLAIM_BASE + (int64_t)d->n_claims;
	d->n_claims++;
	c->seller_id = o->seller_id;
	c->order_id = o->id;
	double r = rng_unit(rng);
	const char *type = r < 0.6 ? "mediations" : r < 0.85 ? "return" : "cancel_purchase";
	bool opened = rng_unit(rng) < 0.4;
	const char *stage = opened ? (rng_unit(rng) < 0.25 ? "dispute" : "claim") : "none";
	const char *reason = strcmp(type, "return") == 0	    ? "PDD9939"
			     : strcmp(type, "cancel_purchase") == 0 ? "CS9007"
								    : "PNR3430";
	int64_t created = o->updated_ms + rng_range(rng, 1, 72) * HOUR_MS;
	if (created > now)
		created = now;
	int64_t updated = opened ? created : created + rng_range(rng, 24, 240) * HOUR_MS;
	if (updated > now)
		updated = now;
	json_t *players = json_array();
	json_array_append_new(players, json_pack("{s:s, s:s, s:I, s:[]}", "role", "complainant",
						 "type", "buyer", "user_id",
						 (json_int_t)o->buyer_id, "available_actions"));
	json_t *actions = json_array();
	if (opened) {
		json_array_append_new(actions, json_pack("{s:s, s:b, s:n}", "action",
							 "send_message_to_complainant", "mandatory",
							 0, "due_date"));
		json_array_append_new(actions,
				      json_pack("{s:s, s:b, s:o}", "action", "refund", "mandatory",
						1, "due_date", ms_time_json(created + 3 * DAY_MS)));
	}
	json_array_append_new(
	    players, json_pack("{s:s, s:s, s:I, s:o}", "role", "respondent", "type", "seller",
			       "user_id", (json_int_t)o->seller_id, "available_actions", actions));
	if (strcmp(stage, "dispute") == 0)
		json_array_append_new(players, json_pack("{s:s, s:s, s:i, s:[]}", "role",
							 "mediator", "type", "internal", "user_id",
							 1000001, "available_actions"));
	json_t *j = json_object();
	SET(j, "id", json_integer(c->id));
	SET(j, "resource_id", json_integer(o->id));
	SET(j, "status", json_string(opened ? "opened" : "closed"));
	SET(j, "type", json_string(type));
	SET(j, "stage", json_string(stage));
	SET(j, "parent_id", json_null());
	SET(j, "resource", json_string("order"));
	SET(j, "reason_id", json_string(reason));
	SET(j, "fulfilled", json_true());
	SET(j, "quantity_type", json_string("total"));
	SET(j, "claimed_quantity", json_integer(1));
	SET(j, "claim_version", json_integer(2));
	SET(j, "players", players);
	SET(j, "resolution",
	    opened ? json_null()
		   : json_pack("{s:s, s:o, s:[s], s:s, s:b}", "reason",
			       strcmp(type, "return") == 0 ? "item_returned" : "payment_refunded",
			       "date_created", ms_time_json(updated), "benefited", "complainant",
			       "closed_by", "mediator", "applied_coverage", 0));
	SET(j, "site_id", json_string(MS_SITE));
	SET(j, "date_created", ms_time_json(created));
	SET(j, "last_updated", ms_time_json(updated));
	SET(j, "related_entities",
	    strcmp(type, "return") == 0 ? json_pack("[s]", "return") : json_array());
	c->json = j;
	json_array_append_new(json_object_get(o->json, "mediations"),
			      json_pack("{s:I}", "id", (json_int_t)c->id));
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

void ms_seed_catalogue(ms_data_t *d, const ms_options_t *o)
{
	uint64_t rng = o->seed;
	int64_t now = d->now_ms;
	d->n_sellers = (size_t)o->sellers;
	d->sellers = xcalloc(d->n_sellers, sizeof(*d->sellers));
	for (size_t k = 0; k < d->n_sellers; k++)
		build_seller(d, &rng, k, now);
	d->n_items = (size_t)o->items;
	d->items = xcalloc(d->n_items, sizeof(*d->items));
	for (size_t i = 0; i < d->n_items; i++)
		build_item(d, &rng, i, now);

	/* Order ids grow with time, as on the real platform: draw the times, sort, then build. */
	size_t n = (size_t)o->orders;
	int64_t *times = xcalloc(n ? n : 1, sizeof(*times));
	for (size_t i = 0; i < n; i++)
		times[i] = now - 1000 * (int64_t)rng_range(&rng, 60, 90 * 86400);
	qsort(times, n, sizeof(*times), cmp_i64);
	for (size_t i = 0; i < n; i++) {
		/* The newest orders walk through every shipment status, so even a small
		 * catalogue has each one. */
		size_t back = n - 1 - i;
		const char *forced = n >= 3 * ARRAY_LEN(ship_statuses) && back % 3 == 0 &&
					     back / 3 < ARRAY_LEN(ship_statuses)
					 ? ship_statuses[back / 3]
					 : NULL;
		size_t seller_ix = rng_unit(&rng) < 0.5 ? 0 : rng_below(&rng, d->n_sellers);
		struct order_spec sp = {seller_ix, times[i], forced, NULL, 0};
		build_order(d, &rng, o->seed, &sp);
	}
	free(times);

	for (int i = 0; i < o->questions; i++) {
		ms_item_t *it = &d->items[rng_below(&rng, d->n_items)];
		int64_t created = now - 1000 * (int64_t)rng_range(&rng, 600, 60 * 86400);
		double r = rng_unit(&rng);
		const char *st;
		if (now - created < 2 * DAY_MS)
			st = r < 0.7 ? "UNANSWERED" : "ANSWERED";
		else
			st = r < 0.80	? "ANSWERED"
			     : r < 0.92 ? "UNANSWERED"
			     : r < 0.95 ? "BANNED"
			     : r < 0.97 ? "UNDER_REVIEW"
					: "CLOSED_UNANSWERED";
		build_question(d, &rng, o->seed, it, created, PICK(&rng, question_texts), st, now);
	}
	/* Questions are listed by id; ids grow with time. */
	for (size_t a = 1; a < d->n_questions; a++) {
		for (size_t b = a;
		     b > 0 && d->questions[b - 1].created_ms > d->questions[b].created_ms; b--) {
			ms_question_t t = d->questions[b - 1];
			d->questions[b - 1] = d->questions[b];
			d->questions[b] = t;
		}
	}
	for (size_t a = 0; a < d->n_questions; a++) {
		d->questions[a].id = MS_QUESTION_BASE + (int64_t)a;
		json_object_set_new(d->questions[a].json, "id", json_integer(d->questions[a].id));
	}

	size_t want = o->claims >= 0 ? (size_t)o->claims : n / 40;
	d->claims = xcalloc(want ? want : 1, sizeof(*d->claims));
	for (size_t i = 0; i < n && d->n_claims < want; i++) {
		const char *st = json_string_value(json_object_get(d->orders[i].json, "status"));
		const char *sst =
		    json_string_value(json_object_get(d->shipments[i].json, "status"));
		bool eligible = strcmp(st, "partially_refunded") == 0 ||
				strcmp(sst, "delivered") == 0 || strcmp(sst, "not_delivered") == 0;
		if (eligible && rng_unit(&rng) < 0.3)
			build_claim(d, &rng, i, now);
	}
	d->rng = o->seed ^ 0x5eed5eed5eedULL;
}

ms_order_t *ms_seed_new_order(ms_data_t *d, ms_seller_t *seller, ms_item_t *item, int quantity,
			      const char *status, int64_t when_ms)
{
	size_t seller_ix = (size_t)(seller - d->sellers);
	if (!item)
		item = random_item_of(d, &d->rng, seller_ix);
	if (!item)
		return NULL;
	const char *ship = "handling";
	if (status &&
	    (strcmp(status, "payment_required") == 0 || strcmp(status, "payment_in_process") == 0 ||
	     strcmp(status, "confirmed") == 0))
		ship = "pending";
	else if (status && strcmp(status, "cancelled") == 0)
		ship = "cancelled";
	struct order_spec sp = {seller_ix, when_ms, ship, item, quantity};
	build_order(d, &d->rng, d->rng, &sp);
	ms_order_t *o = &d->orders[d->n_orders - 1];
	if (status && strcmp(status, json_string_value(json_object_get(o->json, "status"))) != 0)
		json_object_set_new(o->json, "status", json_string(status));
	return o;
}

ms_question_t *ms_seed_new_question(ms_data_t *d, ms_item_t *item, const char *text,
				    int64_t when_ms)
{
	build_question(d, &d->rng, d->rng, item, when_ms, text, "UNANSWERED", when_ms);
	return &d->questions[d->n_questions - 1];
}
