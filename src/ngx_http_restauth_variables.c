
/*
 * ngx_http_restauth: $restauth_user_id, $restauth_claim_<name> and
 * $restauth_token_status.
 *
 * They verify lazily, on first use, with the keys of the location at hand,
 * so they work in every phase: limit_req and map before the access phase,
 * log_format after the response.  The verdict is the request's one (see
 * ngx_http_restauth_protect_ctx_t): a variable never verifies twice, and
 * never disagrees with restauth_protect.  In a location with neither
 * restauth_protect nor restauth_api they are empty unless the request was
 * verified elsewhere (an auth_request subrequest, a location before an
 * internal redirect).
 */


#include "ngx_http_restauth_common.h"


/* The request's verdict, verifying now if nobody has yet. */
static ngx_http_restauth_protect_ctx_t *
ngx_http_restauth_variable_verdict(ngx_http_request_t *r)
{
    ngx_http_restauth_loc_conf_t     *rlcf;
    ngx_http_restauth_protect_ctx_t  *pctx;

    pctx = ngx_http_restauth_protect_ctx(r, 0);

    if (pctx != NULL && pctx->verified) {
        return pctx;
    }

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);

    if (rlcf == NULL || rlcf->core == NULL
        || rlcf->token_mode != RESTAUTH_TOKENS_JWT)
    {
        return pctx;
    }

    pctx = ngx_http_restauth_protect_ctx(r, 1);
    if (pctx == NULL) {
        return NULL;
    }

    ngx_http_restauth_protect_verify(r, rlcf, pctx);

    return pctx;
}


static ngx_int_t
ngx_http_restauth_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, ngx_str_t *claim)
{
    restauth_str_t                    path, value;
    ngx_http_restauth_protect_ctx_t  *pctx;

    pctx = ngx_http_restauth_variable_verdict(r);

    path.data = (const char *) claim->data;
    path.len = claim->len;

    if (pctx == NULL || pctx->identity == NULL
        || !restauth_identity_claim(pctx->identity, path, &value))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = value.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = ngx_pnalloc(r->pool, value.len);

    if (v->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(v->data, value.data, value.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_restauth_user_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t  claim = ngx_string("user_id");

    return ngx_http_restauth_claim_variable(r, v, &claim);
}


static ngx_int_t
ngx_http_restauth_prefix_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t  *name = (ngx_str_t *) data;
    ngx_str_t   claim;

    claim.data = name->data + sizeof("restauth_claim_") - 1;
    claim.len = name->len - (sizeof("restauth_claim_") - 1);

    return ngx_http_restauth_claim_variable(r, v, &claim);
}


static ngx_int_t
ngx_http_restauth_token_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    restauth_str_t                    name;
    ngx_http_restauth_protect_ctx_t  *pctx;

    pctx = ngx_http_restauth_variable_verdict(r);

    if (pctx == NULL || !pctx->verified) {
        v->not_found = 1;
        return NGX_OK;
    }

    name = restauth_token_status_name(pctx->status);

    v->len = name.len;
    v->data = (u_char *) name.data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_http_variable_t  ngx_http_restauth_vars[] = {

    { ngx_string("restauth_user_id"), NULL,
      ngx_http_restauth_user_id_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("restauth_token_status"), NULL,
      ngx_http_restauth_token_status_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("restauth_claim_"), NULL,
      ngx_http_restauth_prefix_claim_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};



ngx_int_t
ngx_http_restauth_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_restauth_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}