"""A small multilingual retrieval set, written for Folio (no third-party text): 40 short documents, eight each in
Chinese, German, French, Spanish and English, and 30 questions, six per language, each asked in its document's
language with the words a reader would use — inflected otherwise than the document (plurals, verbs for nouns,
compounds split or joined), and for Chinese without spaces. Each question has one relevant document, named by its
key. Two documents per language answer none: they share the words of another document's topic (a library's fines
beside its opening hours, an employment contract's notice beside a lease's) so that ranking has to tell them apart.
"""

from __future__ import annotations

DOCUMENTS: dict[str, str] = {
    # Chinese
    "zh-library": "北京大学图书馆每天早上八点开馆，晚上十点闭馆。周末开放时间缩短到下午六点。学生凭校园卡可以借阅图书，"
    "每次最多借十本，借期为一个月。",
    "zh-returns": "收到商品后七天内，客户可以无理由退货。退款会在仓库检查商品后三个工作日内退回原支付账户。"
    "定制商品不支持退货。",
    "zh-leave": "员工入职满一年后每年享有十天带薪年假，满十年后增加到十五天。年假需要提前两周向部门经理申请，"
    "未休完的年假可以顺延到下一年三月底。",
    "zh-vpn": "如果在家无法连接公司网络，请先检查VPN客户端是否为最新版本。连接失败时重新启动电脑，"
    "仍然无法登录的话请联系信息技术部服务台。",
    "zh-expenses": "出差期间的交通费、住宿费和餐费可以报销。出租车费用需要保留发票，"
    "报销申请应在回来后三十天内通过财务系统提交。",
    "zh-privacy": "公司只为提供服务收集必要的个人信息，并采取加密措施保护客户数据。用户可以随时要求查询、"
    "更正或删除自己的个人信息。",
    "zh-fines": "图书馆的图书逾期归还要缴纳罚款，每本每天五角。丢失图书需要按原价赔偿，借书证也会被暂停使用一个月。",
    "zh-exchange": "商品有质量问题时，客户可以在十五天内申请换货。换货需要保留原包装，运费由公司承担。",
    # German
    "de-notice": "Die Kündigungsfrist für den Mietvertrag beträgt drei Monate zum Monatsende. Die Kündigung muss "
    "schriftlich erfolgen und vom Mieter unterschrieben sein.",
    "de-holiday": "Jeder Arbeitnehmer hat Anspruch auf dreißig Tage Erholungsurlaub im Jahr. Der Urlaubsantrag wird "
    "im Personalportal gestellt und von der Führungskraft genehmigt.",
    "de-travel": "Reisekosten werden nach der Reise über die Reisekostenabrechnung erstattet. Belege für Hotel, "
    "Bahnfahrt und Verpflegung sind innerhalb von vier Wochen einzureichen.",
    "de-password": "Wer sein Passwort vergessen hat, kann es im Anmeldefenster über den Link „Passwort zurücksetzen“ "
    "ändern. Das neue Passwort muss mindestens zwölf Zeichen lang sein.",
    "de-privacy": "Nach der Datenschutz-Grundverordnung hat jede Person das Recht auf Auskunft über die zu ihr "
    "gespeicherten Daten. Der Antrag wird innerhalb eines Monats beantwortet.",
    "de-shipping": "Bestellte Ware kann innerhalb von vierzehn Tagen zurückgesendet werden. Das Rücksendeetikett "
    "liegt dem Paket bei, die Kosten der Rücksendung trägt der Händler.",
    "de-job-notice": "Im Arbeitsvertrag gilt eine Kündigungsfrist von vier Wochen zum Fünfzehnten oder zum Ende eines "
    "Kalendermonats; sie verlängert sich mit der Dauer der Betriebszugehörigkeit.",
    "de-carryover": "Resturlaub aus dem Vorjahr verfällt am 31. März, wenn er nicht genommen wurde. Bei Krankheit "
    "während des Urlaubs werden die Krankheitstage nicht angerechnet.",
    # French
    "fr-subscription": "Vous pouvez résilier votre abonnement à tout moment depuis votre espace client. La résiliation "
    "prend effet à la fin du mois en cours et aucun frais n'est facturé.",
    "fr-leave": "Chaque salarié acquiert deux jours et demi de congés payés par mois de travail effectif, soit cinq "
    "semaines par an. Les congés doivent être posés avant le 31 mai.",
    "fr-transport": "Les frais de transport engagés lors d'un déplacement professionnel sont remboursés sur "
    "présentation des justificatifs. Les courses en taxi sont acceptées après 22 heures.",
    "fr-printer": "Si l'imprimante affiche une erreur ou ne répond plus, éteignez-la pendant trente secondes. Un "
    "bourrage papier se retire par le capot arrière de l'appareil.",
    "fr-remote": "Le télétravail est autorisé deux jours par semaine après accord du responsable. Le salarié doit "
    "rester joignable pendant les plages horaires fixes de l'équipe.",
    "fr-fire": "En cas d'incendie, déclenchez l'alarme et quittez le bâtiment par l'escalier le plus proche. "
    "N'utilisez jamais les ascenseurs et rejoignez le point de rassemblement.",
    "fr-upgrade": "Pour changer de formule d'abonnement, choisissez la nouvelle offre dans votre espace client ; "
    "la différence de prix est calculée au prorata des jours restants.",
    "fr-sick": "En cas d'arrêt maladie, le salarié transmet l'avis d'arrêt de travail à son employeur dans les "
    "quarante-huit heures. Les jours de carence ne sont pas payés.",
    # Spanish
    "es-returns": "Las devoluciones se aceptan dentro de los treinta días posteriores a la compra. El producto debe "
    "estar sin usar y en su embalaje original para recibir el reembolso.",
    "es-hours": "Nuestras oficinas atienden al público de lunes a viernes de nueve a dieciocho horas. Los sábados "
    "el horario de atención es de diez a catorce horas.",
    "es-warranty": "La garantía de dos años cubre los defectos de fabricación. Los daños causados por golpes, agua "
    "o un uso indebido quedan excluidos de la cobertura.",
    "es-vacation": "Los empleados disfrutan de veintidós días laborables de vacaciones al año. Las solicitudes se "
    "presentan con un mes de antelación a través del portal del empleado.",
    "es-password": "Si olvidaste tu contraseña, pulsa en «Recuperar acceso» y te enviaremos un enlace por correo. "
    "La nueva contraseña debe tener al menos diez caracteres.",
    "es-shipping": "Realizamos envíos internacionales a toda Europa y América. Los paquetes enviados al extranjero "
    "tardan entre cinco y diez días y pueden pagar aranceles de aduana.",
    "es-exchange": "Los cambios de talla o color son gratuitos durante quince días. Lleva el producto a cualquier "
    "tienda con el ticket de compra y te daremos otra unidad.",
    "es-extension": "Puede ampliar la garantía a cinco años contratando el plan de protección en el momento de la "
    "compra; cubre también las reparaciones a domicilio.",
    # English
    "en-refunds": "Customers may return any product within thirty days of delivery. Refunds are paid to the "
    "original card once the warehouse has inspected the returned item.",
    "en-parental": "Employees who become parents are entitled to sixteen weeks of paid parental leave, which can be "
    "taken in up to three blocks during the child's first year.",
    "en-expenses": "Expense reports must be submitted within thirty days with itemised receipts attached. Meals "
    "with clients need the names of the attendees and the business purpose.",
    "en-laptop": "A laptop that is damaged or stops working is replaced by the IT service desk within two business "
    "days; back up your files to the shared drive before handing it in.",
    "en-retention": "Customer records are retained for six years after the end of the contract and then deleted. "
    "Backups containing personal data are overwritten after ninety days.",
    "en-badges": "Report a lost access badge to reception immediately so it can be deactivated. A temporary badge "
    "is issued for the day, and a replacement is printed within a week.",
    "en-exchange": "Items can be exchanged for another size or colour within sixty days; bring the product and "
    "its receipt to any store and the new item is handed over at once.",
    "en-visitors": "Visitors sign in at reception and receive a visitor badge, which must be worn at all times and "
    "returned when leaving the building.",
}

QUERIES: dict[str, tuple[str, str]] = {
    # key: (question, relevant document)
    "zh-1": ("图书馆晚上几点闭馆", "zh-library"),
    "zh-2": ("收到的商品可以退货吗", "zh-returns"),
    "zh-3": ("员工有多少天年假", "zh-leave"),
    "zh-4": ("在家连不上VPN怎么办", "zh-vpn"),
    "zh-5": ("出租车发票怎么报销", "zh-expenses"),
    "zh-6": ("如何删除我的个人信息", "zh-privacy"),
    "de-1": ("Welche Kündigungsfristen gelten für Mietverträge?", "de-notice"),
    "de-2": ("Wie viele Urlaubstage stehen Arbeitnehmern zu?", "de-holiday"),
    "de-3": ("Reisekosten erstatten lassen: welche Belege?", "de-travel"),
    "de-4": ("Passwörter vergessen und zurückgesetzt", "de-password"),
    "de-5": ("Auskunft über gespeicherte personenbezogene Daten", "de-privacy"),
    "de-6": ("Waren zurücksenden, wer trägt die Kosten?", "de-shipping"),
    "fr-1": ("Comment résilier un abonnement ?", "fr-subscription"),
    "fr-2": ("Combien de congés payés par an ?", "fr-leave"),
    "fr-3": ("remboursement des frais de taxi", "fr-transport"),
    "fr-4": ("les imprimantes ne répondent plus", "fr-printer"),
    "fr-5": ("combien de jours de télétravail par semaine", "fr-remote"),
    "fr-6": ("que faire en cas d'incendie dans les bâtiments", "fr-fire"),
    "es-1": ("¿Cómo funcionan las devoluciones de productos?", "es-returns"),
    "es-2": ("horarios de atención de la oficina", "es-hours"),
    "es-3": ("¿La garantía cubre el daño por agua?", "es-warranty"),
    "es-4": ("¿Cuántos días de vacaciones tienen los empleados?", "es-vacation"),
    "es-5": ("olvidé mi contraseña", "es-password"),
    "es-6": ("enviar un paquete al extranjero", "es-shipping"),
    "en-1": ("how are refunds paid for returned products", "en-refunds"),
    "en-2": ("how many weeks of parental leave", "en-parental"),
    "en-3": ("submitting an expense report with receipts", "en-expenses"),
    "en-4": ("my laptop is broken, how do I get a replacement", "en-laptop"),
    "en-5": ("how long are customer records kept", "en-retention"),
    "en-6": ("I lost my access badge", "en-badges"),
}
