/*
 * ui_assets.h
 *	  The static files of the web pages (gateway/ui/), compiled into the
 *	  binary by the Makefile (ui_assets.c), each NUL-terminated.
 */
#ifndef PGW_UI_ASSETS_H
#define PGW_UI_ASSETS_H

extern const char ui_page_html[];	/* the page: {{title}}, {{style}}, {{body}} */
extern const char ui_style_css[];

#endif							/* PGW_UI_ASSETS_H */
